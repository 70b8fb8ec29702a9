"""python3 -m flask_classroom seed [--database classroom.db] [--password PW]"""

import argparse
import sys

from .seed import seed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m flask_classroom")
    commands = parser.add_subparsers(dest="command", required=True)
    seeding = commands.add_parser("seed", help="create the database and its seed data")
    seeding.add_argument("--database", default="classroom.db")
    seeding.add_argument("--password", default="classroom", help="every seeded user's password")
    args = parser.parse_args(argv)
    counts = seed(args.database, args.password)
    print(f"{args.database}: {counts['users']} users, {counts['tasks']} tasks, "
          f"{counts['quizzes']} quizzes added")
    return 0


sys.exit(main())
