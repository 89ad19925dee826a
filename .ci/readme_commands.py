"""Print the commands of a Markdown file's first ```bash block, one per line (continuation lines joined)."""

import sys
from pathlib import Path


def commands(markdown: str) -> list[str]:
    lines, inside, found = [], False, []
    for line in markdown.splitlines():
        if not inside and line.strip() == "```bash":
            inside = True
        elif inside and line.strip() == "```":
            break
        elif inside:
            lines.append(line)
    current = ""
    for line in lines:
        current += line.rstrip()
        if current.endswith("\\"):
            current = current[:-1] + " "
            continue
        if current.strip() and not current.strip().startswith("#"):
            found.append(current.strip())
        current = ""
    return found


if __name__ == "__main__":
    print("\n".join(commands(Path(sys.argv[1]).read_text(encoding="utf-8"))))
