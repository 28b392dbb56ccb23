"""MPEG transport streams (ISO/IEC 13818-1): packets, PSI, PES, a muxer and a demuxer."""
