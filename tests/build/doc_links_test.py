# SPDX-License-Identifier: Apache-2.0
"""Every relative link in the repository's Markdown documents leads somewhere: the file exists
(relative to the document, as GitHub and other renderers resolve it), and a #fragment names a
heading of the target (GitHub's anchors: lower case, punctuation but '-' and '_' dropped, spaces
as '-'). Links to web addresses are not followed (no network here).
Usage: doc_links_test.py SOURCE_DIR."""
import os
import re
import subprocess
import sys

LINK = re.compile(r"\[[^\]]*\]\(([^()\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")


def prose_lines(path):
    """The document's lines outside fenced code blocks (a link in a code block is not one)."""
    fenced = False
    with open(path, encoding="utf-8") as doc:
        for number, line in enumerate(doc, 1):
            if FENCE.match(line):
                fenced = not fenced
                continue
            if not fenced:
                yield number, line


def anchor(heading):
    text = re.sub(r"`|\*\*|\*", "", heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


def anchors(path):
    seen = {}
    names = set()
    for _, line in prose_lines(path):
        match = HEADING.match(line)
        if not match:
            continue
        base = anchor(match.group(1))
        count = seen.get(base, 0)
        seen[base] = count + 1
        names.add(base if count == 0 else f"{base}-{count}")
    return names


def main(source_dir):
    os.chdir(source_dir)
    try:
        files = subprocess.run(["git", "ls-files", "*.md"], check=True, capture_output=True,
                               text=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        print(f"SKIP: {source_dir} is not a git checkout")
        return 77
    broken = []
    links = 0
    for doc in files:
        if doc.startswith("tests/fixtures/"):
            continue
        for number, line in prose_lines(doc):
            for target in LINK.findall(line):
                if re.match(r"^[a-z][a-z0-9+.-]*:", target):
                    continue  # https:, mailto:, man: ...
                links += 1
                path, _, fragment = target.partition("#")
                resolved = os.path.normpath(os.path.join(os.path.dirname(doc), path)) if path else doc
                if not os.path.exists(resolved):
                    broken.append(f"{doc}:{number}: {target}: no {resolved}")
                elif fragment and resolved.endswith(".md") and fragment not in anchors(resolved):
                    broken.append(f"{doc}:{number}: {target}: no heading #{fragment} in {resolved}")
    if broken:
        print(f"FAIL: {len(broken)} of {links} relative links lead nowhere:")
        print("\n".join(broken))
        return 1
    if links < 20:
        print(f"FAIL: only {links} relative links found: the link pattern is wrong")
        return 1
    print(f"ok: {links} relative links in {len(files)} documents lead somewhere")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
