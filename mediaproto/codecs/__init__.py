"""Bitstream helpers for the codecs mediaproto carries: H.264, H.265, AAC, Opus.

They convert between the neutral frame forms of :mod:`mediaproto.media` and the forms protocols
carry (Annex B, AVCC length prefixes, ADTS), and read from the bitstream what protocols need
(parameter sets, decoder configuration records, sizes, profiles).
"""
