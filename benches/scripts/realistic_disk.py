"""A reproducible raw disk image with a realistic mix of 1 MiB extents: 35% zeros, 30% text,
25% structured binary, 10% incompressible (the same seed gives the same bytes).

    python3 realistic_disk.py OUT SIZE_MIB
"""
import random, sys
path, mib = sys.argv[1], int(sys.argv[2])
rng = random.Random(20240601)
words = ("the kernel module lib usr share bin etc var log error warning info debug return int "
         "struct static const void char unsigned long config system service network device "
         "python import from class def self none true false package version install").split()
pool = 8 << 20
text = (" ".join(rng.choices(words, k=pool // 5)) + "\n").encode()[:pool]
text = text + text[: 1 << 20]
nib = rng.choices(range(16), weights=[40, 10, 8, 6, 5, 4, 4, 3, 3, 3, 3, 2, 2, 2, 2, 3], k=pool)
binary = bytes(v * 17 if i % 7 else v for i, v in enumerate(nib))
binary = binary + binary[: 1 << 20]
noise = rng.randbytes(pool + (1 << 20))
zero = bytes(1 << 20)
kinds = ["zero", "text", "binary", "random"]
with open(path, "wb") as f:
    for _ in range(mib):
        k = rng.choices(kinds, weights=[35, 30, 25, 10])[0]
        if k == "zero":
            f.write(zero)
            continue
        src = {"text": text, "binary": binary, "random": noise}[k]
        off = rng.randrange(0, pool)
        f.write(src[off : off + (1 << 20)])
