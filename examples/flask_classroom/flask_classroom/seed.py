"""Creates the database and its seed data: student1 ... student20 and teacher1 (password
"classroom" unless given), five tasks of three subtasks and a worksheet each, two quizzes.
Idempotent: what exists is kept."""

from __future__ import annotations

import json

from .auth import hash_password
from .db import ANALYTICS_SCHEMA, SCHEMA, connect

TASKS = [
    ("Fractions", "Add, compare and simplify fractions.",
     ["Read the worked example", "Simplify ten fractions", "Explain your method"]),
    ("Photosynthesis", "What a leaf makes from light, water and air.",
     ["Label the leaf diagram", "Write the word equation", "Plan an experiment"]),
    ("Persuasive letter", "Write a letter that argues for a change at school.",
     ["Choose a topic", "Draft three arguments", "Write the final letter"]),
    ("The water cycle", "Evaporation, condensation, precipitation.",
     ["Watch the animation", "Draw the cycle", "Answer the questions"]),
    ("Loops in Python", "Repeat work with for and while.",
     ["Trace the examples", "Write a times table", "Fix the buggy loop"]),
]

QUIZZES = [
    ("Fractions check", [
        ("1/2 + 1/4 =", ["2/6", "3/4", "1/8"], 1),
        ("Which is larger?", ["3/5", "5/9", "1/2"], 0),
        ("6/8 simplified is", ["3/4", "2/3", "12/16"], 0),
    ]),
    ("Science check", [
        ("Plants take in which gas?", ["Oxygen", "Nitrogen", "Carbon dioxide"], 2),
        ("Water vapour turning into droplets is", ["evaporation", "condensation", "melting"], 1),
        ("Photosynthesis needs", ["light", "sound", "magnetism"], 0),
    ]),
]


def seed(path: str, password: str = "classroom") -> dict:
    """Returns how many users, tasks and quizzes it added."""
    con = connect(path)
    try:
        con.executescript(SCHEMA + ANALYTICS_SCHEMA)
        counts = {"users": 0, "tasks": 0, "quizzes": 0}
        users = [(f"student{i}", "student") for i in range(1, 21)] + [("teacher1", "teacher")]
        for name, role in users:
            salt, iterations, digest = hash_password(password)
            cur = con.execute(
                "INSERT INTO users (username, role, salt, iterations, password_hash) "
                "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (username) DO NOTHING",
                (name, role, salt, iterations, digest))
            counts["users"] += cur.rowcount
        with con:
            con.execute("BEGIN IMMEDIATE")
            if con.execute("SELECT COUNT(*) FROM tasks").fetchone()[0] == 0:
                for title, description, subtasks in TASKS:
                    task_id = con.execute("INSERT INTO tasks (title, description) VALUES (?, ?)",
                                          (title, description)).lastrowid
                    for position, sub in enumerate(subtasks, 1):
                        con.execute("INSERT INTO subtasks (task_id, position, title) "
                                    "VALUES (?, ?, ?)", (task_id, position, sub))
                    con.execute("INSERT INTO files (task_id, name, content) VALUES (?, ?, ?)",
                                (task_id, f"{title} worksheet.txt",
                                 f"{title}\n\n{description}\n"))
                    counts["tasks"] += 1
            if con.execute("SELECT COUNT(*) FROM quizzes").fetchone()[0] == 0:
                for title, questions in QUIZZES:
                    quiz_id = con.execute("INSERT INTO quizzes (title) VALUES (?)",
                                          (title,)).lastrowid
                    for position, (prompt, options, answer) in enumerate(questions, 1):
                        con.execute("INSERT INTO quiz_questions (quiz_id, position, prompt, "
                                    "options, answer) VALUES (?, ?, ?, ?, ?)",
                                    (quiz_id, position, prompt, json.dumps(options), answer))
                    counts["quizzes"] += 1
        return counts
    finally:
        con.close()
