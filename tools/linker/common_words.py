"""Everyday English words that make poor evidence of a title or name on their own.

Many titles are ordinary words ("It", "Her", "Up", "Heat", "Love"). Two lists decide how much
a match made only of such words can be trusted:

- :data:`FUNCTION_WORDS`: pronouns, articles, prepositions, auxiliaries, conjunctions, and
  the filler of chat ("ok", "yeah", "lol"). A title made only of these is linked only with
  strong evidence (a year next to it, quotes, or capital letters in otherwise lower-case text).
- :data:`CHAT_WORDS`: content words that are frequent when people talk about films or
  products ("movie", "good", "funny", "love", "watch"). A title made only of function and
  chat words needs some context cue ("seen ...", "watched ...").

The linker adds the words that are frequent in the catalogue's own plots and descriptions,
so the lists need not be complete.
"""

from __future__ import annotations

__all__ = ["FUNCTION_WORDS", "CHAT_WORDS", "COMMON_WORDS"]

FUNCTION_WORDS: frozenset[str] = frozenset(
    """
    a about above across after afterwards again against all almost alone along already also
    although always am among amongst an and another any anyhow anyone anything anyway
    anywhere are around as at back be became because become becomes becoming been before
    beforehand behind being below beside besides between beyond both but by can cannot cant
    could couldnt did didnt do does doesnt doing done dont down during each either else
    elsewhere enough etc even ever every everyone everything everywhere except few for from
    further get gets getting go goes going gone got gotten had hadnt has hasnt have havent
    having he hed hell hence her here hers herself hes him himself his how however i id ill
    im ive if in indeed into is isnt it its itself just least less let lets like likely
    many may maybe me meanwhile might mine more moreover most mostly much must my myself
    near nearly neither never nevertheless next no nobody none noone nor not nothing now
    nowhere of off often on once one ones only onto or other others otherwise our ours
    ourselves out over own per perhaps quite rather really same several she shed shell shes
    should shouldnt since so some somehow someone something sometime sometimes somewhere
    still such than that thats the their theirs them themselves then there thereafter
    thereby therefore theres these they theyd theyll theyre theyve this those though through
    throughout thru thus to together too toward towards under until up upon us very via was
    wasnt we wed well were werent weve what whatever whats when whence whenever where
    whereas wherever whether which while who whoever whole whom whos whose why will with
    within without wont would wouldnt yet you youd youll your youre yours yourself
    yourselves youve
    ok okay oh ah uh um hmm yeah yes yep yup nope no hi hey hello bye goodbye thanks thank
    thx lol haha please sure cool wow omg btw u ur r k kinda gonna wanna gotta alright
    one two three four five six seven eight nine ten first second last
    """.split()
)

CHAT_WORDS: frozenset[str] = frozenset(
    """
    movie movies film films flick flicks show shows series tv watch watched watching seen
    see saw look looking looked find found want wanted need like liked likes love loved
    loves enjoy enjoyed enjoying hate hated prefer recommend recommended recommendation
    suggestion suggestions suggest idea ideas think thought know knew heard hear mean
    good great best better bad worse worst awesome amazing excellent fun funny scary
    creepy sad happy nice classic classics favorite favourite favorites new old older newer
    recent kind type sort genre genres style stuff thing things lot lots way day days night
    time times year years today tonight weekend family kids kid child children friend
    friends girl boy man men woman women people guy guys life world home story stories
    action comedy comedies drama dramas horror thriller thrillers romance romantic
    adventure animated animation documentary fantasy mystery crime war western musical
    sci fi scifi science fiction superhero hero heroes book books end ending part sequel
    original remake actor actors actress cast director character characters scene scenes
    plot true real big little long short high right left free well enjoyable interesting
    definitely probably actually pretty totally absolutely especially also again yet
    """.split()
)

COMMON_WORDS: frozenset[str] = FUNCTION_WORDS | CHAT_WORDS
