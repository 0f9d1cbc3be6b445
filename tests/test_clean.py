"""Each cleaning rule removes what it should and is counted."""

from ragcook.train.clean import CleanReport, check_question, clean_generated, clean_questions

CHUNK = "A list comprehension consists of brackets containing an expression followed by a for clause."


def test_single_rules():
    assert check_question("") == "empty"
    assert check_question("   ") == "empty"
    assert check_question("What " + "very " * 40 + "long?") == "too_long"
    assert check_question("I'm sorry, but I cannot generate questions for this.") == "refusal"
    assert check_question("As an AI language model, what can I do?") == "refusal"
    assert check_question("Lists are great.") == "not_question"
    assert check_question("Lists are great.", require_question=False) is None
    assert check_question("A list comprehension consists of brackets containing an expression?", CHUNK) == "copies_chunk"
    assert check_question("What does a list comprehension consist of?", CHUNK) is None
    assert check_question("Explain how a for clause works in a comprehension") is None  # question word, no '?'


def test_near_duplicates_and_counts():
    pairs = [
        ("What does a list comprehension consist of?", CHUNK),
        ("What does a list comprehension consist of ?", CHUNK),  # near-duplicate
        ("What is a list comprehension made of?", CHUNK),
        ("", CHUNK),
        ("Sorry, the context does not contain enough information.", CHUNK),
        ("Tell me.", CHUNK),
    ]
    kept, report = clean_questions(pairs)
    assert kept == [0, 2]
    d = report.as_dict()
    assert d["total"] == 6 and d["kept"] == 2
    assert d["duplicate"] == 1 and d["empty"] == 1 and d["refusal"] == 1 and d["not_question"] == 1
    assert "kept 2" in str(report)


def test_clean_generated_rows():
    rows = [
        {
            "chunk_id": "a",
            "chunk": CHUNK,
            "questions": ["What does a list comprehension contain?", "Nope."],
            "best": "Which clause follows the expression?",
            "generator": "local",
        },
        {"chunk_id": "b", "chunk": "x", "questions": ["", "I'm sorry."], "best": None, "generator": "local"},
    ]
    out, report = clean_generated(rows)
    assert [r["chunk_id"] for r in out] == ["a"]
    assert out[0]["best"] == "Which clause follows the expression?"
    assert out[0]["questions"] == ["What does a list comprehension contain?"]
    assert isinstance(report, CleanReport) and report.total == 5 and report.kept == 2
    # inverse-cloze rows are sentences, not questions: that rule is skipped for them
    ict = [
        {
            "chunk_id": "c",
            "chunk": CHUNK + " Other text here.",
            "positive": "Other text here.",
            "questions": ["A list comprehension is compact."],
            "generator": "ict (no LLM)",
        }
    ]
    out, report = clean_generated(ict)
    assert len(out) == 1 and report.kept == 1


def test_filter_retrieved_drops_off_topic_questions():
    from ragcook.train.clean import filter_retrieved

    rows = [
        {
            "chunk": "Dictionaries map hashable keys to values and raise KeyError for missing keys.",
            "questions": ["What error does a dictionary raise for a missing key?", "How do I bake sourdough bread?"],
            "best": None,
        },
        {
            "chunk": "The finally clause of a try statement always runs, even after an exception.",
            "questions": ["When does the finally clause run?"],
            "best": None,
        },
        {
            "chunk": "Sourdough bread needs a starter, flour, water and a long, slow rise.",
            "questions": ["What does sourdough bread need?"],
            "best": None,
        },
    ]
    out, report = filter_retrieved(rows, k=1)
    assert report.removed["not_retrieved"] == 1
    assert out[0]["questions"] == ["What error does a dictionary raise for a missing key?"] and len(out) == 3
