"""Solutions to notebook 05's exercises (checked by tests/test_exercises.py)."""

import re


def answers_from_questions(hits, bank_qrels):
    """Q-Q: each answer a retrieved stored question leads to (grade > 0), with the best such question's score."""
    out = {}
    for sid, score in hits.items():
        for answer, grade in bank_qrels.get(sid, {}).items():
            if grade > 0 and score > out.get(answer, float("-inf")):
                out[answer] = score
    return out


def coverage(test_qrels, bank_qrels):
    """Share of test questions with a relevant answer that some stored question leads to."""
    reachable = {a for answers in bank_qrels.values() for a, grade in answers.items() if grade > 0}
    covered = [q for q, answers in test_qrels.items() if any(g > 0 and a in reachable for a, g in answers.items())]
    return len(covered) / len(test_qrels)


def to_keywords(question, stopwords):
    """Lower-cased words (letters and digits), stop words and repeats dropped, in order, joined by spaces."""
    words = [w for w in re.findall(r"[a-z0-9]+", question.lower()) if w not in stopwords]
    return " ".join(dict.fromkeys(words))
