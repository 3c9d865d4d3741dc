"""The certificate as a PDF: A4 landscape, Kazakh and Russian on one page, drawn with reportlab.

Drawn only from the certificate's frozen fields, with `invariant` output (no creation time, no random
document id), so the same certificate always gives the same bytes: a lost file is drawn again, never
changed. DejaVu (Debian's fonts-dejavu-core, which `make browser` installs) has every Kazakh letter and
is embedded (subset) in the file.
"""
from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

import qrcode
from qrcode.constants import ERROR_CORRECT_M
from reportlab.lib.colors import HexColor, white
from reportlab.lib.pagesizes import A4, landscape
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from gennation.certificates.models import Certificate
from gennation.platform.i18n import N_, gettext

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"),
             Path("/usr/local/share/fonts/dejavu"))
# Three faces: each one embedded is a subset to build and compress, the larger part of drawing a page.
FONTS = {"serif-bold": "DejaVuSerif-Bold.ttf", "serif-italic": "DejaVuSerif-Italic.ttf", "sans": "DejaVuSans.ttf"}
KAZAKH_LETTERS = "әғқңөұүһіӘҒҚҢӨҰҮҺІ"

TEAL = HexColor("#00738a")  # the emblem's colours (frontend/static/logo.svg)
GOLD = HexColor("#f5c400")
DEEP = HexColor("#0b3a4a")
GOLD_DEEP = HexColor("#9a6b00")  # the award line: gold that still reads on paper (contrast)
MUTED = HexColor("#4a5f66")
PAPER = HexColor("#fffdf6")
PAGE = landscape(A4)

TEXTS = {
    "heading": N_("Certificate"),
    "awarded": N_("awarded for successfully completing the course"),
    "hours": N_("Volume: %(hours)s academic hours"),
    "date": N_("Date of issue"),
    "issuer": N_("Issued by"),
    "verify": N_("Check that it is genuine"),
    "code": N_("Code"),
    "diploma": N_("Diploma"),
    "tournament": N_("awarded for the results of the tournament stage"),
    "place": N_("Place %(place)s"),
}
AWARDS = {"winner": N_("Winner"), "prize_winner": N_("Prize-winner"), "participant": N_("Participant")}


class FontMissing(RuntimeError):
    pass


@lru_cache(maxsize=1)
def register_fonts() -> dict[str, str]:
    """Register the DejaVu faces once per process; names are prefixed so no other face is taken by mistake."""
    for folder in FONT_DIRS:
        if all((folder / file).is_file() for file in FONTS.values()):
            names = {}
            for key, file in FONTS.items():
                name = f"GN-{file.removesuffix('.ttf')}"
                pdfmetrics.registerFont(TTFont(name, str(folder / file)))
                names[key] = name
            return names
    raise FontMissing("DejaVu fonts not found (install Debian's fonts-dejavu-core)")


def verification_url(base_url: str, certificate: Certificate) -> str:
    return f"{base_url.rstrip('/')}/verify/{certificate.public_id}"


def _qr(canvas: Canvas, data: str, x: float, y: float, size: float) -> None:
    """The QR code drawn as vector squares: sharp at any print size, and no image to encode."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=2)
    code.add_data(data)
    code.make(fit=True)
    matrix = code.get_matrix()  # with its quiet zone
    cell = size / len(matrix)
    canvas.saveState()
    canvas.setFillColor(white)
    canvas.rect(x, y, size, size, stroke=0, fill=1)
    canvas.setFillColor(DEEP)
    path = canvas.beginPath()
    for row, cells in enumerate(matrix):
        top = y + size - (row + 1) * cell
        column = 0
        while column < len(cells):  # a run of dark modules in a row is one rectangle
            if cells[column]:
                start = column
                while column < len(cells) and cells[column]:
                    column += 1
                path.rect(x + start * cell, top, (column - start) * cell, cell)
            column += 1
    canvas.drawPath(path, stroke=0, fill=1)
    canvas.restoreState()


def _emblem(canvas: Canvas, cx: float, cy: float, radius: float) -> None:
    """The platform's emblem (logo.svg: a sun with eight rays) redrawn with reportlab shapes."""
    scale = radius / 15
    canvas.saveState()
    canvas.setFillColor(TEAL)
    canvas.circle(cx, cy, radius, stroke=0, fill=1)
    canvas.setFillColor(GOLD)
    canvas.circle(cx, cy, 6 * scale, stroke=0, fill=1)
    canvas.setStrokeColor(white)
    canvas.setLineWidth(2 * scale)
    canvas.setLineCap(1)
    for x1, y1, x2, y2 in ((16, 3, 16, 8), (16, 24, 16, 29), (3, 16, 8, 16), (24, 16, 29, 16),
                           (6.8, 6.8, 10.3, 10.3), (21.7, 21.7, 25.2, 25.2), (6.8, 25.2, 10.3, 21.7),
                           (21.7, 10.3, 25.2, 6.8)):
        canvas.line(cx + (x1 - 16) * scale, cy - (y1 - 16) * scale, cx + (x2 - 16) * scale, cy - (y2 - 16) * scale)
    canvas.restoreState()


def _fit(text: str, font: str, size: float, width: float, smallest: float) -> tuple[list[str], float]:
    """The lines and size that fit `width`: the largest size down to `smallest` on one line, else two
    lines (then three) at the size that fits, never below `smallest`."""
    measure = pdfmetrics.stringWidth
    current = size
    while current > smallest and measure(text, font, current) > width:
        current -= 0.5
    if measure(text, font, current) <= width:
        return [text], current
    for count in (2, 3):
        lines = _split(text, count)
        current = size
        while current > smallest and max(measure(line, font, current) for line in lines) > width:
            current -= 0.5
        if max(measure(line, font, current) for line in lines) <= width:
            return lines, current
    return _split(text, 3), smallest


def _split(text: str, count: int) -> list[str]:
    """`text` in `count` lines of near equal length, broken between words."""
    words = text.split()
    if len(words) < count:
        return [text]
    target = len(text) / count
    lines, current = [], ""
    for word in words:
        if current and len(current) + 1 + len(word) > target * 1.15 and len(lines) < count - 1:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    lines.append(current)
    return lines


def _centred(canvas: Canvas, lines: list[str], font: str, size: float, top: float, leading: float = 1.22) -> float:
    """Draw centred lines from `top` (the first baseline); return the baseline below the last one."""
    canvas.setFont(font, size)
    y = top
    for line in lines:
        canvas.drawCentredString(PAGE[0] / 2, y, line)
        y -= size * leading
    return y


def _both(key: str, **values) -> tuple[str, str]:
    return gettext("kk", TEXTS[key], **values), gettext("ru", TEXTS[key], **values)


def _middle(certificate: Certificate, fonts: dict, text_width: float) -> list[tuple]:
    """The blocks between the heading and the footer: (lines, size, font, colour, space before).

    A course: the holder's name, "awarded for completing the course", the title in Kazakh and in Russian,
    the hours. A tournament diploma: the name, the award (and place) in both languages, "for the results of
    the tournament stage", the stage, and the tournament's title in Kazakh and in Russian."""
    name = (*_fit(certificate.holder_name, fonts["serif-bold"], 30, text_width, 17), fonts["serif-bold"], DEEP, 0)
    title_kk, title_ru = certificate.title.get("kk", ""), certificate.title.get("ru", "")
    if certificate.kind == "tournament":
        award = AWARDS.get(certificate.award, AWARDS["participant"])
        award_kk, award_ru = gettext("kk", award), gettext("ru", award)
        line = f"{award_kk}  ·  {award_ru}".upper()
        if certificate.place:
            line += "  —  " + "  ·  ".join(_both("place", place=certificate.place))
        stage_kk, stage_ru = certificate.stage.get("kk", ""), certificate.stage.get("ru", "")
        blocks = [name, (*_fit(line, fonts["serif-bold"], 20, text_width, 12), fonts["serif-bold"], GOLD_DEEP, 8),
                  (["  ·  ".join(_both("tournament"))], 10.5, fonts["sans"], MUTED, 8)]
        if stage_kk or stage_ru:
            stage = f"{stage_kk}  ·  {stage_ru}" if stage_kk != stage_ru else stage_kk
            blocks.append((*_fit(stage, fonts["serif-italic"], 13, text_width, 9), fonts["serif-italic"], DEEP, 4))
        # A tournament's name carries its own quotation marks («Генеративті Ұлт» турнирі): none added.
        blocks += [(*_fit(title_kk, fonts["serif-bold"], 18, text_width, 11), fonts["serif-bold"], TEAL, 10),
                   (*_fit(title_ru, fonts["serif-italic"], 14, text_width, 10), fonts["serif-italic"], DEEP, 2)]
        return blocks
    awarded_kk, awarded_ru = _both("awarded")
    blocks = [  # (lines, font, size, colour, space before)
        name,
        ([f"{awarded_kk}  ·  {awarded_ru}"], 10.5, fonts["sans"], MUTED, 6),
        (*_fit(f"«{title_kk}»", fonts["serif-bold"], 19, text_width, 11), fonts["serif-bold"], TEAL, 14),
        (*_fit(f"«{title_ru}»", fonts["serif-italic"], 15, text_width, 10), fonts["serif-italic"], DEEP, 2),
    ]
    if certificate.hours:
        blocks.append(([" · ".join(_both("hours", hours=certificate.hours)).replace(" · ", "  ·  ")], 10.5,
                       fonts["sans"], MUTED, 8))
    return blocks


def render(certificate: Certificate, base_url: str) -> bytes:
    """The PDF of one certificate."""
    fonts = register_fonts()
    buffer = io.BytesIO()
    width, height = PAGE
    canvas = Canvas(buffer, pagesize=PAGE, invariant=1, pageCompression=1, initialFontName=fonts["sans"])
    kind = "diploma" if certificate.kind == "tournament" else "heading"
    canvas.setTitle(f"{_both(kind)[0]} {certificate.code} — {certificate.holder_name}")
    canvas.setAuthor(certificate.issuer.get("kk", ""))
    canvas.setSubject(certificate.title.get("kk", ""))

    # Paper, a teal frame with a thin gold rule inside it, and gold corner marks.
    canvas.setFillColor(PAPER)
    canvas.rect(0, 0, width, height, stroke=0, fill=1)
    canvas.setStrokeColor(TEAL)
    canvas.setLineWidth(10)
    canvas.rect(22, 22, width - 44, height - 44, stroke=1, fill=0)
    canvas.setStrokeColor(GOLD)
    canvas.setLineWidth(1.4)
    canvas.rect(34, 34, width - 68, height - 68, stroke=1, fill=0)
    canvas.setLineWidth(0.6)
    canvas.rect(38, 38, width - 76, height - 76, stroke=1, fill=0)
    canvas.setFillColor(GOLD)
    for x, y in ((34, 34), (width - 34, 34), (34, height - 34), (width - 34, height - 34)):
        canvas.circle(x, y, 4, stroke=0, fill=1)

    # Emblem and the platform's name.
    _emblem(canvas, width / 2, height - 86, 26)
    canvas.setFillColor(TEAL)
    name_kk, name_ru = certificate.issuer.get("kk", ""), certificate.issuer.get("ru", "")
    platform_line = f"{gettext('kk', 'Generative Nation')}  ·  {gettext('ru', 'Generative Nation')}".upper()
    canvas.setFont(fonts["serif-bold"], 9.5)
    canvas.drawCentredString(width / 2, height - 128, platform_line)

    # CERTIFICATE: the same word in both languages, so it is written once.
    heading_kk, heading_ru = _both("diploma" if certificate.kind == "tournament" else "heading")
    heading = heading_kk.upper() if heading_kk.upper() == heading_ru.upper() else f"{heading_kk} · {heading_ru}".upper()
    canvas.setFillColor(DEEP)
    canvas.setFont(fonts["serif-bold"], 34)
    canvas.drawCentredString(width / 2, height - 170, heading)
    canvas.setStrokeColor(GOLD)
    canvas.setLineWidth(1.2)
    canvas.line(width / 2 - 70, height - 184, width / 2 + 70, height - 184)

    # The middle, centred between heading and footer (see _middle).
    text_width = width - 200
    blocks = _middle(certificate, fonts, text_width)
    total = sum(gap + size * 1.22 * len(lines) for lines, size, _font, _colour, gap in blocks)
    y = (height - 190 + 160) / 2 + total / 2 - blocks[0][1]  # the first baseline
    # A crowded middle keeps clear of the footer (its labels start at 148 pt), up to the heading's rule.
    y = min(height - 200 - blocks[0][1] * 0.2, max(y, 166 + total - blocks[0][1]))
    for lines, size, font, colour, gap in blocks:
        canvas.setFillColor(colour)
        y = _centred(canvas, lines, font, size, y - gap)

    # Footer: date and issuer on the left, the verification QR code with its code on the right.
    left, bottom = 70, 62
    label = lambda key: "  ·  ".join(_both(key))  # noqa: E731
    canvas.setFillColor(MUTED)
    canvas.setFont(fonts["sans"], 8.5)
    canvas.drawString(left, bottom + 78, label("date"))
    canvas.setFillColor(DEEP)
    canvas.setFont(fonts["serif-bold"], 13)
    canvas.drawString(left, bottom + 62, certificate.issued_on.strftime("%d.%m.%Y"))
    canvas.setFillColor(MUTED)
    canvas.setFont(fonts["sans"], 8.5)
    canvas.drawString(left, bottom + 36, label("issuer"))
    canvas.setFillColor(DEEP)
    issuer_lines = []
    for issuer in (name_kk, name_ru):
        issuer_lines += _fit(issuer, fonts["sans"], 10.5, 300, 8)[0]
    canvas.setFont(fonts["sans"], 10.5)
    for index, line in enumerate(issuer_lines[:4]):
        canvas.drawString(left, bottom + 21 - index * 13, line)

    # A seal between the two: the emblem in a gold ring.
    canvas.setStrokeColor(GOLD)
    canvas.setLineWidth(2)
    canvas.circle(width / 2, bottom + 42, 34, stroke=1, fill=0)
    canvas.setLineWidth(0.6)
    canvas.circle(width / 2, bottom + 42, 30, stroke=1, fill=0)
    _emblem(canvas, width / 2, bottom + 42, 24)

    url = verification_url(base_url, certificate)
    qr_size = 96
    qr_x, qr_y = width - 70 - qr_size, bottom - 8
    _qr(canvas, url, qr_x, qr_y, qr_size)
    right = qr_x - 10
    canvas.setFillColor(MUTED)
    canvas.setFont(fonts["sans"], 8.5)
    verify_kk, verify_ru = _both("verify")
    canvas.drawRightString(right, bottom + 78, verify_kk)
    canvas.drawRightString(right, bottom + 67, verify_ru)
    canvas.setFillColor(DEEP)
    canvas.setFont(fonts["serif-bold"], 13)
    canvas.drawRightString(right, bottom + 46, certificate.code)
    canvas.setFillColor(MUTED)
    url_lines, url_size = _fit(url, fonts["sans"], 7, 190, 5.5)
    if len(url_lines) > 1:  # an address has no spaces to break at: cut it after the host
        host, _, path = url.partition("/verify/")
        url_lines, url_size = [f"{host}/verify/", path], 6.5
    canvas.setFont(fonts["sans"], url_size)
    for index, line in enumerate(url_lines):
        canvas.drawRightString(right, bottom + 30 - index * (url_size + 2), line)

    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def store_path(var_dir: Path, certificate: Certificate) -> Path:
    return var_dir / "certificates" / f"{certificate.public_id}.pdf"
