#!/usr/bin/env python3
"""Writes a fresh RSA key pair for the stand-in tests: DIR/NAME.p8 (PKCS#8 PEM, not
encrypted, as `openssl pkcs8 -topk8 -nocrypt` makes it) and DIR/NAME.pub.pem.

Usage: keygen.py DIR NAME
"""
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

out, name = Path(sys.argv[1]), sys.argv[2]
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
(out / f"{name}.p8").write_bytes(
    key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
)
(out / f"{name}.pub.pem").write_bytes(
    key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
)
