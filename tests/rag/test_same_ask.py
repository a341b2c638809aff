"""The checks that tell a near miss from a paraphrase (rag.same_ask)."""

import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from rag.question_words import ask_types, normalise, verb_like
from rag.same_ask import CONTRASTS, codes, differences, names

SAME = [
    ("What is the minimum clear height?", "What's the smallest clear height allowed?"),
    ("ExxonMobil net income for the second quarter of 2024", "ExxonMobil's net income in Q2 2024"),
    ("How do I increase the font size?", "How can the font size be increased?"),
    ("Which routine reads a problem from an MPS file?", "What routine do I call to read an MPS file problem?"),
    ("What does section 21 01 13 say about parking?", "Section 21 01 13: what does it say on parking?"),
    ("May I park trucks there?", "Can trucks be parked there?"),
    ("Default off resistance ROFF of the voltage controlled switch", "What is ROFF's default for the switch?"),
    ("referenced DD-101 to DD-113", "references dd_101 through DD-0113"),
    # Periods and spans written another way.
    (
        "What operating income guidance did Amazon give for the third quarter of 2024?",
        "Amazon's third-quarter 2024 operating income guidance",
    ),
    ("What was the effective tax rate for Q1 2024?", "What effective tax rate applied in the first quarter of 2024?"),
    ("Net sales for the three months ended June 29, 2024", "Net sales for the quarter ended June 29, 2024"),
    (
        "Which babel version is required with the June 2001 release?",
        "What version of babel do you need at least for the June 2001 release?",
    ),
    # A clause that starts with "when" asks nothing; "never declared" is "undeclared".
    (
        "If ydelta is given instead of ylow, how are the ends computed?",
        "When I give ydelta rather than ylow, how does gnuplot compute the ends?",
    ),
    (
        "What must be called before adding code to an undeclared hook?",
        "What do I call before I add code to a hook that was never declared?",
    ),
    # A name added that no other document bears (the product, a word of the title).
    (
        "Which element type number does the 125-node hexahedron have?",
        "In gmsh, which element type number does the 125-node hexahedron have?",
    ),
    ("What does Plugin(Lambda2) compute?", "In gmsh, what does Plugin(Lambda2) compute?"),
]
APART = [
    ("What is the minimum clear height?", "What is the maximum clear height?", "opposite"),
    ("What is the clear height?", "What is the minimum clear height?", "narrower"),
    ("Which routine reads a problem from an MPS file?", "Which routine writes a problem to an MPS file?", "opposite"),
    ("What does section 21 01 13 say about parking?", "What does section 21 01 14 say about parking?", "numbers"),
    ("Apple's net sales in the 10-Q for Q1 2024", "Amazon's net sales in the 10-Q for Q1 2024", "names"),
    ("Apple's net sales in the 10-Q for Q1 2024", "Apple's net sales in the 10-K for 2024", "numbers"),
    ("Net sales in the quarter ended June 29, 2024", "Net sales in the quarter ended March 30, 2024", "names"),
    ("Which GLPK routine is not thread safe?", "Which GLPK routine is thread safe?", "negated"),
    ("Which GLPK routines don't need a license?", "Which GLPK routines need a license?", "negated"),
    ("What is the width of a parking space?", "What is the length of a parking space?", "measures"),
    ("What is the gross margin?", "What is the net margin?", "opposite"),
    ("Which packages were integrated into the kernel?", "Which packages were removed from the kernel?", "opposite"),
    (
        "Net sales for the three months ended June 29, 2024",
        "Net sales for the nine months ended June 29, 2024",
        "numbers",
    ),
    (
        "Which command was added to center material like \\llap?",
        "Which command was added to copy robust commands?",
        "identifiers",
    ),
    ("Default number format of View.AxesFormatX", "Default number format of View.AxesFormatZ", "identifiers"),
    (
        "If ydelta is given instead of ylow, how are the ends computed?",
        "If ylow is given instead of ydelta, how are the ends computed?",
        "swapped",
    ),
    (
        "How many harmonics does the fourier command analyze?",
        "Which variable sets how many harmonics the fourier command analyzes?",
        "different things",
    ),
    (
        "When did ExxonMobil close the Pioneer acquisition?",
        "How many shares did ExxonMobil issue for the Pioneer acquisition?",
        "different things",
    ),
    (
        "Where must DocumentMetadata be placed?",
        "What kind of argument does DocumentMetadata expect?",
        "different things",
    ),
    (
        "What must be called before adding code to an undeclared hook?",
        "What must be called before adding code to a declared hook?",
        "negated",
    ),
    ("Which pens belong to group G of the CAD module?", "Which pens belong to group J of the CAD module?", "names"),
]


@pytest.mark.parametrize(("new", "original"), SAME)
def test_paraphrases_show_no_difference(new, original):
    assert differences(new, original) == []
    assert differences(original, new) == []


@pytest.mark.parametrize(("new", "original", "why"), APART)
def test_near_misses_are_told_apart_with_the_reason(new, original, why):
    found = differences(new, original)
    assert found and why in " ".join(found)
    assert differences(original, new)


def test_codes_are_normalised_and_periods_spelled_as_codes():
    assert codes("section 21 01 13, DD-0113, 10-Q") == {"21", "1", "13", "dd-113", "10-q"}
    assert codes("the second quarter of 2024") == codes("Q2 2024") == {"q2", "2024"}
    assert codes("issue 04") == codes("issue 4")
    assert codes("1.2e+12 ohms, 0.05 V") == {"1.2e+12", "0.05"}


def test_names_skip_the_first_word_and_common_words_but_keep_acronyms_and_months():
    assert names("What is GLPK's default for Apple in June?") == {"glpk", "apple", "june"}
    assert names("May I park there?") == set()


text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=120)


@given(text)
def test_a_question_never_differs_from_itself(question):
    assert differences(question, question) == []


@given(text, text)
def test_the_verdict_is_the_same_both_ways(a, b):
    assert bool(differences(a, b)) == bool(differences(b, a))


@given(st.integers(0, 10**6), st.integers(0, 10**6))
def test_two_numbers_ask_the_same_only_when_equal(n, m):
    assert (differences(f"What is in section {n}?", f"What is in section {m}?") == []) == (n == m)


def test_with_the_answer_a_swapped_word_the_answer_is_about_sets_them_apart():
    original, answer = "How many car parking spaces does the site have?", "The site has 412 car parking spaces."
    assert differences("How many truck parking spaces does the site have?", original) == []
    assert "car" in differences("How many truck parking spaces does the site have?", original, answer)[0]
    assert differences("How many car parking spaces are there on the site?", original, answer) == []
    # Inflections and hyphens do not count as leaving a word out.
    assert (
        differences(
            "How many people were employed at year end?",
            "How many employees at year-end?",
            "12,000 employees at year-end.",
        )
        == []
    )


def test_spelled_numbers_and_period_spans_are_codes():
    assert codes("the nine months ended June 30") == {"9", "30"}
    assert codes("the first half of 2024") == codes("H1 2024") == {"h1", "2024"}
    assert codes("third-quarter 2024") == codes("3Q 2024") == codes("Q3 2024")
    assert codes("which one of the quarterly reports") == set()
    assert codes("Apple's quarterly report") == codes("Apple's 10-Q")


def test_the_kind_of_answer_is_read_from_the_question_words():
    assert ask_types("How many harmonics does it analyze?") == ["quantity"]
    assert ask_types("Which variable sets how many harmonics it analyzes?") == ["entity", "quantity"]
    assert ask_types("When will Alphabet pay, and how much per share?") == ["time", "quantity"]
    assert ask_types("What does seconds() return when an error occurs?") == []
    assert ask_types("What fixed exchange ratio did ExxonMobil describe?") == ["quantity"]
    assert ask_types("How do I mesh it in batch mode?") == ["method"]


@pytest.mark.parametrize(
    ("question", "word", "verb"),
    [
        ("Which function records an ordering rule?", "records", True),
        ("Where must DocumentMetadata be placed?", "placed", True),
        ("Which input encodings did inputenc support in the release?", "support", True),
        ("How much slower can compatibility mode run?", "run", True),
        ("To which ranges is allocation set depending on the engine?", "set", True),
        ("What fixed exchange ratio is given for the merger?", "fixed", False),
        ("What is the band gap of the material?", "gap", False),
        ("Which parameter sets the energy band gap?", "gap", False),
        ("What does the option search for an existing file?", "existing", False),
    ],
)
def test_a_word_is_a_verb_or_not_by_the_lexicon_and_its_neighbours(question, word, verb):
    words = question.rstrip("?").split()
    assert verb_like(words, words.index(word)) is verb


def test_with_the_answer_a_reworded_verb_still_asks_the_same_but_a_swapped_noun_does_not():
    original = "Which input encodings did inputenc support in the December 1994 release?"
    answer = "In the December 1994 release inputenc supported the ascii and latin1 input encodings."
    assert (
        differences("In the December 1994 release, what input encodings could inputenc handle?", original, answer) == []
    )
    original, answer = (
        "How far do boxplot whiskers extend by default?",
        "By default the whiskers extend 1.5 times the interquartile range.",
    )
    assert differences("In boxplots, what is the default reach of the whiskers?", original, answer) == []
    assert "whiskers" in differences("How far do boxplot outliers reach by default?", original, answer)[0]


def test_a_name_added_that_another_document_bears_is_another_document_asked_about():
    original, answer = "What is the default zero threshold?", "The default zero value is 1e-8."
    cited = ["gnuplot/gnuplot.pdf", "The default zero value is 1e-8."]
    indexed = ["gnuplot/gnuplot.pdf", "octave/liboctave.pdf", "gmsh/gmsh.pdf"]
    assert (
        differences("What is gnuplot's default zero threshold?", original, answer, cited=cited, indexed=indexed) == []
    )
    assert differences("What is LaTeX's default zero threshold?", original, answer, cited=cited, indexed=indexed) == []
    found = differences("What is Octave's default zero threshold?", original, answer, cited=cited, indexed=indexed)
    assert found == ["names another document: octave"]


words = st.sampled_from("clear height parking space tank sprinkler storage capacity font size routine file".split())
templates = st.sampled_from(
    ["What is the {x} {a} {b}?", "Which {a} has the {x} {b}?", "How is the {x} {a} of the {b} set?", "{x} {a} {b}"]
)


@given(templates, words, words, st.sampled_from(range(len(CONTRASTS))))
def test_swapping_a_contrast_side_never_asks_the_same(template, a, b, group):
    side_a, side_b = (sorted(side)[0] for side in CONTRASTS[group][:2])
    # The rest of the question must not hold a side already ("... of the clear set?" with get/set).
    rest = set(re.findall(r"[a-z]+", template.format(x="", a=a, b=b).lower()))
    assume(not rest & (set(CONTRASTS[group][0]) | set(CONTRASTS[group][1])))
    assert differences(template.format(x=side_a, a=a, b=b), template.format(x=side_b, a=a, b=b))


@given(templates, words, words, st.integers(1, 99), st.integers(1, 99))
def test_another_section_number_never_asks_the_same(template, a, b, n, m):
    one, other = template.format(x=f"section {n}", a=a, b=b), template.format(x=f"section {m}", a=a, b=b)
    assert (differences(one, other) == []) == (n == m)


@given(text, text)
def test_a_question_never_differs_from_itself_whatever_its_answer(question, answer):
    assert differences(question, question, answer) == []


@given(templates, words, words)
def test_a_negation_added_never_asks_the_same(template, a, b):
    question = template.format(x="", a=a, b=b)
    assert differences(question, template.format(x="not", a=a, b=b))


# Issue 28, third round: rules found on the tuning triples' misses (replay-tune*.jsonl, replay.jsonl).
def test_periods_and_numbers_written_as_users_write_them_are_the_same_codes():
    assert codes("FY24") == codes("fiscal 2024") == codes("FY 2024") == {"2024"}
    assert codes("Q2 24") == codes("Q2 '24") == codes("Q2 2024") == {"q2", "2024"}
    assert codes("the third fiscal quarter of 2024") == codes("fiscal Q3 2024") == {"q3", "2024"}
    assert codes("a 7-bit encoding") == codes("a seven-bit encoding") == {"7"}
    assert codes("the 125-node hexahedron") == {"125"}
    assert codes("Apple's 10-Q") == {"10-q"}  # one letter joined on is a code, not a word
    # The base of a change asks nothing of its own; a month shortened before a date is the month.
    assert differences("aws sales growth, Q2 2024 vs last year", "How much did AWS sales grow in Q2 2024?") == []
    assert differences("filecontents in the oct 2019 release", "filecontents in the October 2019 release") == []
    assert normalise("radix dec or hex") == "radix dec or hex"


@given(st.integers(2000, 2099), st.sampled_from(["FY{}", "FY {}", "FY'{}"]))
def test_a_fiscal_year_written_short_is_the_year(year, form):
    short = f"{year % 100:02d}"
    assert codes(form.format(year if form == "FY {}" else short)) == {str(year)}


@given(st.integers(1, 999), st.sampled_from(["bit", "node", "pin", "way", "byte"]))
def test_a_number_with_its_noun_joined_on_is_the_number(n, noun):
    assert codes(f"the {n}-{noun} one") == codes(f"the {n} {noun} one") == {str(n)}


@pytest.mark.parametrize(
    ("new", "original"),
    [
        ("JFET in ngspice: which threshold voltage VTO is used if I do not set it?", "Default threshold voltage VTO"),
        ("When the specwindoworder variable is unset, which order?", "If specwindoworder is not set, which order?"),
        ("Which numIntervals value does it take when none is given?", "What is the default numIntervals?"),
        ("Which xparse types are left out of the kernel?", "Which xparse types are not provided by the kernel?"),
        ("Which configure option leaves out the z80 port?", "How do I build sdcc without the z80 port?"),
    ],
)
def test_a_negation_in_a_condition_on_what_is_set_asks_for_the_default(new, original):
    assert differences(new, original) == []
    assert differences(original, new) == []


@pytest.mark.parametrize(
    ("new", "original"),
    [
        ("Which licence came with the release in lppl.txt?", "Which licence came with the release besides lppl.txt?"),
        ("What banner marks the normal, non-development format?", "What banner marks the development format?"),
        ("Which port is built unless it is excluded?", "Which port is built?"),
        ("What order is used if the variable is not set?", "What order is used if the variable is set?"),
    ],
)
def test_negations_spelled_as_phrases_prefixes_and_conditions_are_told_apart(new, original):
    assert differences(new, original)
    assert differences(original, new)


def test_un_before_a_short_word_is_a_negation_only_when_the_word_is_a_verb():
    assert differences("Which variable is unset?", "Which variable is set?")
    assert differences("Which union type is it?", "Which type is it?") == []


@pytest.mark.parametrize(
    ("new", "original"),
    [
        ("How do I append items to an existing list?", "How do I remove items from an existing list?"),
        ("Which margin leaves a margin only at the end?", "Which margin leaves a margin at both ends?"),
        ("What is the example TNOM of the model?", "What is the default TNOM of the model?"),
        ("Before the April 2018 release, what was the input encoding?", "From the April 2018 release, what is it?"),
        ("Ahead of the 2009 release, where was the code moved?", "In the 2009 release, where was the code moved?"),
    ],
)
def test_new_contrast_sides_are_told_apart(new, original):
    assert differences(new, original)


def test_after_a_release_may_be_written_since_or_from_but_before_may_not_be_left_out():
    assert differences("After the 2020 release, which command?", "In the 2020 release, which command?") == []
    assert (
        differences("Ahead of the 2009 release, where was it moved?", "Where was it moved before the 2009 release?")
        == []
    )


@pytest.mark.parametrize(
    ("new", "original", "answer"),
    [
        # Another form of the word, a compound holding it, an identifier's words.
        ("What limit applies when extruding?", "How large may an extrusion be?", "An extrusion may turn by pi."),
        ("Which inputenc encodings were added?", "Which input encodings were added?", "The ascii input encoding."),
        ("Which Asymptote filltype clips?", "Which Asymptote fill type clips?", "The UnFill type clips."),
        ("dot size multiplier default?", "What is the default dotfactor?", "The dotfactor is 6."),
        ("default family for \\ProcessKeyOptions?", "What key family does \\ProcessKeyOptions use?", "The key family."),
        # The same side of a contrast (a stop word too), measure or meaning; "how many" for a size.
        ("Which note series matures last?", "Which series has the latest maturity?", "The latest is 2053."),
        ("Which methods give its column count?", "Which methods return the number of columns?", "The number."),
        ("apple services revenue drivers?", "What drove Apple's Services net sales?", "Services net sales rose."),
        ("How many lines does the history keep?", "What is the default history size?", "The size is 500."),
        # An acronym named in both stands for the words that describe it.
        ("ngspice defw default?", "What is the default MOS channel width DEFW?", "DEFW, the MOS channel width."),
    ],
)
def test_with_the_answer_a_word_held_in_another_form_is_not_left_out(new, original, answer):
    assert differences(new, original, answer) == []


@pytest.mark.parametrize(
    ("new", "original", "answer"),
    [
        (
            "What is the default MOS channel length DEFL?",
            "What is the default channel width DEFW?",
            "DEFW, the channel width, is 100.",
        ),
        ("What is the default dotfilltype?", "What is the default dotfactor?", "The dotfactor is 6."),
        ("What is the statutory tax rate?", "What is the effective tax rate?", "The effective rate is 24%."),
        ("How many points are sampled?", "How many isolines per axis?", "10 isolines per axis."),
    ],
)
def test_with_the_answer_another_thing_asked_about_is_still_left_out(new, original, answer):
    assert any(d.startswith("leaves out") for d in differences(new, original, answer))


def test_a_name_replaced_by_a_description_of_another_thing_asks_about_another_thing():
    original = "How large may the rotation angle be with the OpenCASCADE kernel?"
    found = differences("How large may the rotation angle be with the built-in geometry kernel?", original)
    assert found == ["one names opencascade, the other another kernel"]
    assert differences("How large may the rotation angle be with that kernel?", original) == []
    # A possessive name owns the thing; "the company's" is the same owner reworded.
    assert differences("Per the company's 10-Q, what were net sales?", "Per Apple's 10-Q, what were net sales?") == []


@pytest.mark.parametrize(
    ("question", "word", "verb"),
    [
        ("Which command changes small capitals back", "changes", True),
        ("Which variable holds the residual", "holds", True),
        ("Which file formats are supported", "formats", False),
    ],
)
def test_the_inflected_word_after_which_and_a_noun_is_a_verb(question, word, verb):
    words = question.split()
    assert verb_like(words, words.index(word)) is verb


@given(templates, words, words)
def test_a_negated_condition_on_what_is_set_never_asks_the_same_as_the_plain_condition(template, a, b):
    plain = template.format(x="", a=a, b=b).rstrip("?") + " if it is set?"
    negated = template.format(x="", a=a, b=b).rstrip("?") + " if it is not set?"
    assert differences(plain, negated)
    assert differences(negated, plain)


# Found reading the new held-out set's misses (after its blind figures were taken): each is a rule
# not doing what it said.
def test_un_words_that_are_verbs_or_conjunctions_are_no_negation():
    assert differences("How do I uninstall R?", "How do I remove R?") == []
    assert differences("Is the port built unless I say otherwise?", "Is the port built by default?") == []
    assert differences("Under which exhibit number is it filed?", "Which exhibit number is it?") == []
    assert differences("Which umask when untarring the sources?", "Which umask when unpacking the sources?") == []
    assert differences("Which hook is undeclared?", "Which hook is declared?")
    assert differences("Which routine is unsupported?", "Which routine is supported?")


def test_a_swap_is_found_when_both_questions_share_context_on_each_side():
    found = differences(
        "How do I get Intel hex output instead of Motorola S19 from sdcc?",
        "How do I get Motorola S19 output instead of Intel hex from sdcc?",
    )
    assert found == ["what comes instead of what is swapped"]


def test_before_names_a_time_only_before_a_period():
    assert differences("Which umask when untarring the sources?", "Which umask before unpacking the sources?") == []
    assert differences("How big was it, compared with before?", "How big was it?") == []
    assert differences("Which encoding prior to the 2018 release?", "Which encoding in the 2018 release?")
    assert (
        differences("Before X was built into the 2020 release, who?", "Who, before the 2020 release built X in?") == []
    )
