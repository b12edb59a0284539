"""Input `index` of the run with seed `seed`: every GOOD_EVERY-th a good request, the others a
hostile input of a family drawn by weight. Each input has its own random.Random seeded from
(seed, index), so any one is made again without the others."""
from __future__ import annotations

import random

from . import (family_coding, family_framing, family_garbage, family_good, family_grpc, family_images, family_json,
               family_multipart, family_numbers, family_uploads)
from .cases import Input

GOOD_EVERY = 10
# family name -> (generate(rng, index), weight)
HOSTILE = {
    family_framing.FAMILY: (family_framing.generate, 14),
    family_garbage.FAMILY_GARBAGE: (family_garbage.generate_garbage, 6),
    family_garbage.FAMILY_HALF_CLOSED: (family_garbage.generate_half_closed, 5),
    family_json.FAMILY: (family_json.generate, 8),
    family_numbers.FAMILY: (family_numbers.generate, 10),
    family_uploads.FAMILY: (family_uploads.generate, 7),
    family_multipart.FAMILY: (family_multipart.generate, 8),
    family_coding.FAMILY_CODING: (family_coding.generate_coding, 7),
    family_coding.FAMILY_BOMB: (family_coding.generate_bomb, 3),
    family_images.FAMILY: (family_images.generate, 6),
    family_grpc.FAMILY_GARBAGE: (family_grpc.generate_garbage, 10),
    family_grpc.FAMILY_OVERSIZE: (family_grpc.generate_oversize, 1.5),
    family_grpc.FAMILY_H2: (family_grpc.generate_h2, 6),
}
FAMILIES = [family_good.FAMILY, *HOSTILE]


def make_input(seed: int, index: int, families: tuple[str, ...] = ()) -> Input:
    """The input; `families`, when given, limits the hostile ones to those families."""
    rng = random.Random(f"swerve-attack/{seed}/{index}")
    if index % GOOD_EVERY == 0:
        return family_good.generate(rng, index)
    names = [name for name in HOSTILE if not families or name in families]
    name = rng.choices(names, [HOSTILE[n][1] for n in names])[0]
    return HOSTILE[name][0](rng, index)
