"""A detector of secrets and personal data in a prompt, for the routing policy: what kinds it holds, never the text.

Each kind is a shape plus, where the data has one, its check digit, so that ordinary text (hashes, order numbers,
version strings, `icon@2x.png`, `user@example.com`, `sk-learn`) does not count:

- `api_key`: OpenAI/Anthropic `sk-...` (mixed case and digits), Google `AIza...` (39 characters), GitHub `ghp_...` and
  `github_pat_...`, AWS key ids `AKIA...` and `aws_secret_access_key=...`, Slack `xox?-...`, Hugging Face `hf_...`,
  Stripe `sk_live_...`, JSON Web Tokens.
- `private_key`: a `-----BEGIN ... PRIVATE KEY-----` block (RSA, EC, OpenSSH, PKCS#8, PGP).
- `email`: an address with a dotted domain and a letter TLD; file names (`icon@2x.png`), the documentation
  domains of RFC 2606/6761 and `git@host` remotes do not count.
- `payment_card`: 13 to 19 digits (whole groups split by spaces or hyphens) with a card network's prefix and length
  and a valid Luhn digit.
- `iban`: a country code, two check digits and the country's length, passing the ISO 13616 mod-97 check.
- `pesel`: 11 digits forming a valid Polish PESEL: a real date of birth and the weighted check digit.
- `us_ssn`: `AAA-GG-SSSS`, leaving out the area, group and serial numbers that are never issued.

The scan is linear in the text (an address is only looked for around each `@`), so a long prompt costs milliseconds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

KINDS: tuple[str, ...] = ("api_key", "private_key", "email", "payment_card", "iban", "pesel", "us_ssn")
# How a reason names each kind: "the prompt holds an email address".
DESCRIPTIONS: dict[str, str] = {
    "api_key": "an API key or token", "private_key": "a private key", "email": "an email address",
    "payment_card": "a payment card number", "iban": "an IBAN", "pesel": "a PESEL number",
    "us_ssn": "a US social security number",
}

# Each pattern starts with its literal (the boundary check follows as a look-behind), so the regex engine jumps
# from one occurrence of the literal to the next instead of trying every position.
_B = "[A-Za-z0-9_-]"
_API_KEYS = tuple(re.compile(p) for p in (
    rf"sk-(?<!{_B}sk-)(?:proj-|svcacct-|admin-|ant-(?:api|admin)\d\d-)?(?P<sk>[A-Za-z0-9_-]{{20,}})",
    rf"AIza(?<!{_B}AIza)[0-9A-Za-z_-]{{35}}(?!{_B})",
    rf"gh[pousr]_(?<!{_B}gh[pousr]_)[A-Za-z0-9]{{36}}(?![A-Za-z0-9_])",
    rf"github_pat_(?<!{_B}github_pat_)[A-Za-z0-9]{{22}}_[A-Za-z0-9]{{59}}(?![A-Za-z0-9_])",
    r"A(?<![A-Z0-9]A)(?:KIA|SIA|BIA|CCA)[A-Z0-9]{16}(?![A-Za-z0-9])",
    r"(?i:aws_secret_access_key)[\"']?\s*[:=]\s*[\"']?[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])",
    rf"xox[abposr]-(?<!{_B}xox[abposr]-)[0-9]{{6,}}-[A-Za-z0-9-]{{10,}}",
    rf"hf_(?<!{_B}hf_)[A-Za-z0-9]{{34}}(?![A-Za-z0-9_])",
    rf"[sr]k_live_(?<!{_B}[sr]k_live_)[A-Za-z0-9]{{20,}}",
    rf"eyJ(?<!{_B}eyJ)[A-Za-z0-9_-]{{8,}}\.eyJ[A-Za-z0-9_-]{{8,}}\.[A-Za-z0-9_-]{{16,}}",
))
_PRIVATE_KEY = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])(?P<local>[A-Za-z0-9][A-Za-z0-9._%+-]{0,63})@"
    r"(?P<domain>(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+(?P<tld>[A-Za-z]{2,24}))"
    r"(?![A-Za-z0-9-]|\.[A-Za-z0-9])")
_LOCAL_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._%+-")
# Reserved for documentation (RFC 2606, RFC 6761): nobody's address.
_EXAMPLE_DOMAINS = re.compile(r"(?:^|\.)(?:example\.(?:com|org|net)|[^.]+\.(?:example|test|invalid|localhost))$",
                              re.IGNORECASE)
# A file name with a scale or version suffix looks like an address: `icon@2x.png`, `logo@3x.webp`.
_FILE_SUFFIXES = frozenset({"png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "tif", "tiff", "avif", "pdf",
                            "css", "js", "mjs", "ts", "tsx", "json", "yaml", "yml", "txt", "lock", "zip", "gz"})
# Digits in groups split by single spaces or hyphens; a run right after '.', ',' or '/' is part of a number or a
# date.
_DIGIT_RUN = re.compile(r"(?<![\d.,/])\d+(?:[ -]\d+)*")
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![A-Za-z0-9])")
_ELEVEN_DIGITS = re.compile(r"(?<![\d.,/-])\d{11}(?![\d]|[.,/:-]\d)")
_SSN = re.compile(r"(?<![\d-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])")
# ISO 13616 lengths; a country not listed here must still pass mod-97 and lie within 15..34 characters.
_IBAN_LENGTHS = {
    "AD": 24, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "EE": 20, "ES": 24,
    "FI": 18, "FR": 27, "GB": 22, "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IS": 26, "IT": 27, "LI": 21, "LT": 20,
    "LU": 20, "LV": 21, "MC": 27, "MT": 31, "NL": 18, "NO": 15, "PL": 28, "PT": 25, "RO": 24, "SE": 24, "SI": 19,
    "SK": 24, "SM": 27, "TR": 26, "UA": 29,
}


def scan(texts: str | Iterable[str]) -> list[str]:
    """The kinds of sensitive data in `texts`, in the order of KINDS; each at most once. Never the matched text."""
    found: set[str] = set()
    for text in [texts] if isinstance(texts, str) else texts:
        if text:
            found.update(_kinds(text))
        if len(found) == len(KINDS):
            break
    return [kind for kind in KINDS if kind in found]


def describe(kinds: Iterable[str]) -> str:
    """'an email address and an IBAN': the kinds as a reason names them."""
    names = [DESCRIPTIONS.get(kind, kind) for kind in kinds]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _kinds(text: str) -> set[str]:
    kinds = set()
    if any(_real_key(m) for pattern in _API_KEYS for m in pattern.finditer(text)):
        kinds.add("api_key")
    if _PRIVATE_KEY.search(text):
        kinds.add("private_key")
    if "@" in text and _has_email(text):
        kinds.add("email")
    if _has_card(text):
        kinds.add("payment_card")
    if any(iban_valid(m.group()) for m in _IBAN.finditer(text)):
        kinds.add("iban")
    if any(pesel_valid(m.group()) for m in _ELEVEN_DIGITS.finditer(text)):
        kinds.add("pesel")
    if _SSN.search(text):
        kinds.add("us_ssn")
    return kinds


def _real_key(match: re.Match[str]) -> bool:
    if "sk" not in match.re.groupindex:
        return True
    body = match.group("sk")
    # Random key material mixes digits, capitals and small letters; 'sk-learn-2024-release-notes' is prose.
    return any(c.isdigit() for c in body) and any(c.isupper() for c in body) and any(c.islower() for c in body)


def _has_email(text: str) -> bool:
    """One anchored try per `@`, from where its local part begins: linear however many `@` the text holds."""
    start = 0
    while (at := text.find("@", start)) >= 0:
        begin = at
        while begin > 0 and at - begin < 64 and text[begin - 1] in _LOCAL_CHARS:
            begin -= 1
        if begin < at and (match := _EMAIL.match(text, begin, at + 256)) and _personal(match):
            return True
        start = at + 1
    return False


def _personal(match: re.Match[str]) -> bool:
    """Not a file name (`icon@2x.png`), a documentation address (`user@example.com`) or a git remote."""
    return (match.group("tld").lower() not in _FILE_SUFFIXES and not _EXAMPLE_DOMAINS.search(match.group("domain"))
            and match.group("local").lower() != "git")


def luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _has_card(text: str) -> bool:
    """Any run of 13..19 digits, whole groups only (`4111 1111 1111 1111 12/27` holds one), that a card network
    could have issued and whose Luhn digit is right."""
    for match in _DIGIT_RUN.finditer(text):
        if match.end() - match.start() < 13:
            continue
        groups = match.group().replace("-", " ").split(" ")
        if re.match(r"[.,/:]\d", text[match.end():match.end() + 2]):
            groups.pop()  # the integer part of a number, or the start of a date or a time
        for first in range(len(groups)):
            digits = ""
            for last in range(first, len(groups)):
                digits += groups[last]
                if len(digits) > 19:
                    break
                if len(digits) >= 13 and _card(digits):
                    return True
    return False


def _card(digits: str) -> bool:
    return _card_prefix(digits) and luhn(digits)


def _card_prefix(digits: str) -> bool:
    """A prefix that a card network issues (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay, Maestro), at a
    length it issues."""
    two, three, four, length = int(digits[:2]), int(digits[:3]), int(digits[:4]), len(digits)
    if digits[0] == "4":
        return length in (13, 16, 19)
    if 51 <= two <= 55 or 2221 <= four <= 2720:
        return length == 16
    if two in (34, 37):
        return length == 15
    if two in (36, 38, 39) or 300 <= three <= 305:
        return length in (14, 16, 19)
    if digits.startswith(("6011", "65")) or 644 <= three <= 649 or 3528 <= four <= 3589:
        return 16 <= length <= 19
    return two in (50, 56, 57, 58, 62, 63, 67) and length >= 16


def iban_valid(candidate: str) -> bool:
    """The ISO 13616 check: the country's length, and the number mod 97 is 1 with the first four characters moved
    to the end (letters as 10..35)."""
    code = candidate.replace(" ", "").upper()
    expected = _IBAN_LENGTHS.get(code[:2])
    if expected is not None:
        code = code[:expected]  # a following word in capitals may have joined the last group
        if len(code) != expected:
            return False
    if not 15 <= len(code) <= 34 or not code.isalnum() or not code[2:4].isdigit():
        return False
    rearranged = code[4:] + code[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def pesel_valid(digits: str) -> bool:
    """A Polish PESEL: a real date of birth (the month carries the century) and the weighted check digit."""
    if len(digits) != 11 or not digits.isdigit():
        return False
    weights = (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)
    if (10 - sum(int(d) * w for d, w in zip(digits, weights, strict=False)) % 10) % 10 != int(digits[10]):
        return False
    year, month, day = int(digits[:2]), int(digits[2:4]), int(digits[4:6])
    century = {0: 1900, 20: 2000, 40: 2100, 60: 2200, 80: 1800}.get((month - 1) // 20 * 20 if month else -1)
    if century is None:
        return False
    try:
        date(century + year, month % 20, day)
    except ValueError:
        return False
    return True
