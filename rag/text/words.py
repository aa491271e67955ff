"""Word lists and patterns shared by the engine, the citation check, the extractor and the metrics.

One place, so "what counts as a content word" and "what counts as an abstention" cannot drift apart
between the part that answers and the parts that judge the answer.
"""

from __future__ import annotations

import re

# Function words: never evidence on their own.
FUNCTION_WORDS = frozenset(
    "a about above after again against all also am an and any are as at be because been before "
    "being below between both but by can could did do does doing down during each either etc e.g "
    "few for from further had has have having he her here hers him his how however i i.e if in "
    "into is it its itself just let may me might more most much must my no nor not now of off on "
    "once only or other our ours out over own per same she should so some such than that the "
    "their theirs them then there these they this those through thus to too under until up upon "
    "us very via was we were what when where whether which while who whom why will with within "
    "would yes yet you your yours therefore".split()
)
# Words about the sources rather than about the world (an answer saying "the document states").
SOURCE_WORDS = frozenset(
    "according answer based context document documents mention mentioned mentions passage say "
    "says said source sources state stated states text".split()
)
# Discourse words LLMs open sentences with, often capitalised after a "**Label**:".
DISCOURSE_WORDS = frozenset(
    "additionally finally first firstly furthermore hence instead moreover next note overall "
    "secondly summary sure".split()
)
# Words a user wraps a question in ("please tell me more about ...").
REQUEST_WORDS = frozenset("tell please".split())

STOPWORDS = FUNCTION_WORDS | REQUEST_WORDS

# Text saying the documents do not answer (the model's own abstention, or a sentence that is not a claim).
ABSTAINS = re.compile(
    r"\bi (?:do not|don't|cannot|can't|could not|couldn't) (?:know|find|answer|tell|say)\b"
    r"|\b(?:sources?|documents?|context|notes) (?:do|does|did) ?(?:not|n't) (?:say|mention|"
    r"contain|provide|include|specify|state|cover|describe|explain)\b"
    r"|\bnot (?:mentioned|stated|covered|specified|found|given) in the (?:sources?|documents?|"
    r"context)\b"
    r"|\b(?:there is )?no (?:information|mention)\b",
    re.I,
)
