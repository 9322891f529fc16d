"""Docker-style generated container names (`adjective_surname`) and the rule for user-given names."""

from __future__ import annotations

import os
import re

from tug.errors import Invalid

NAME_RE = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$")

ADJECTIVES = (
    "agile amazing blissful bold brave bright calm clever cool curious daring dazzling eager elated "
    "elegant epic fervent festive focused friendly gallant gentle gifted gracious happy hardcore hopeful "
    "jolly jovial keen kind laughing lucid loving lively merry mystifying nifty noble optimistic "
    "peaceful pensive pleasant practical quirky quiet relaxed reverent romantic serene sharp silly "
    "sleepy stoic sweet tender thirsty trusting upbeat vibrant vigilant vigorous wizardly wonderful "
    "xenodochial youthful zealous zen"
).split()

SURNAMES = (
    "agnesi albattani allen archimedes ardinghelli babbage banach bardeen bartik bassi bell benz bhabha "
    "bose brahmagupta brattain burnell carson cerf chandrasekhar clarke colden cori curie darwin davinci "
    "dijkstra driscoll easley einstein elion engelbart euclid euler fermat fermi feynman franklin "
    "galileo gauss goldberg goodall hamilton hawking heisenberg hermann hodgkin hopper hypatia jackson "
    "jang johnson kalam kepler khorana knuth kowalevski lalande lamarr leakey lovelace lumiere mayer "
    "mccarthy mcclintock meitner mendel mirzakhani montalcini moore morse napier nash newton nobel "
    "noether northcutt noyce panini pare pascal pasteur payne perlman pike poincare ptolemy raman "
    "ramanujan ride ritchie roentgen rosalind saha sammet shannon shaw shockley sinoussi snyder spence "
    "stonebraker sutherland swanson tesla thompson torvalds turing varahamihira visvesvaraya volhard "
    "wescoff wiles williams wilson wing wozniak wright yalow yonath"
).split()


def _below(n: int) -> int:
    """A uniform-enough random index from the kernel (the `secrets` module costs milliseconds to import)."""
    return int.from_bytes(os.urandom(8), "big") % n


def _choice(words: list[str]) -> str:
    return words[_below(len(words))]


def generate(taken: set[str]) -> str:
    for attempt in range(50):
        name = f"{_choice(ADJECTIVES)}_{_choice(SURNAMES)}"
        if attempt > 10:
            name += str(_below(10))
        if name not in taken:
            return name
    return f"tug_{os.urandom(6).hex()}"


def validate(name: str) -> str:
    if not NAME_RE.match(name):
        raise Invalid(f'Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed')
    return name.lstrip("/")
