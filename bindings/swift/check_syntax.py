"""Parses every Swift source of the bindings (generated and tests) with
tree-sitter-swift and fails on any syntax error: a check of the generated
Swift for machines without a Swift toolchain.

usage: python3 bindings/swift/check_syntax.py [DIR]   (default: bindings/swift)
"""

import pathlib
import re
import sys

import tree_sitter
import tree_sitter_swift


# uniffi wraps attributes in `#if swift(>=5.8)` ... `#endif`, which Swift
# allows and tree-sitter-swift's grammar does not (it takes a conditional
# block only around whole declarations). Resolve those blocks as a Swift 5.8
# or newer compiler does, keeping their body, before parsing.
SWIFT_VERSION_BLOCK = re.compile(
    rb"^[ \t]*#if swift\(>=5\.\d+\)[ \t]*\n((?:[ \t]*@[^\n]*\n)+)[ \t]*#endif[ \t]*\n", re.M
)


def resolve_version_blocks(source):
    return SWIFT_VERSION_BLOCK.sub(lambda m: m.group(1), source)


def errors(node, found):
    if node.type == "ERROR" or node.is_missing:
        found.append(node)
    for child in node.children:
        errors(child, found)
    return found


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parent)
    parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_swift.language()))
    files = sorted(root.rglob("*.swift"))
    if not files:
        print(f"no Swift file under {root}", file=sys.stderr)
        return 1
    failed = 0
    for path in files:
        source = resolve_version_blocks(path.read_bytes())
        found = errors(parser.parse(source).root_node, [])
        for node in found[:5]:
            line, column = node.start_point
            kind = "missing " + node.type if node.is_missing else "syntax error"
            print(f"{path}:{line + 1}:{column + 1}: {kind}", file=sys.stderr)
        failed += bool(found)
        print(f"{path.relative_to(root)}: {len(source.splitlines())} lines, "
              f"{'OK' if not found else str(len(found)) + ' errors'}")
    print(f"{len(files) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
