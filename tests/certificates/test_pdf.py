"""The PDF opens, holds the holder's Kazakh name and the course title in both languages (read back by
poppler), and its QR code, read by zbarimg from a rendering of the page, opens the verification page."""
import shutil
import subprocess

import pytest
from sqlmodel import select

from gennation.certificates.models import Certificate
from tests.certificates.conftest import HOLDER
from tests.conftest import IN_CI

TOOLS = ("pdftotext", "pdftoppm", "pdffonts", "zbarimg")  # Debian's poppler-utils and zbar-tools (`make browser`)
# Skipped on a machine without them; in CI a missing tool fails the run rather than hiding the check.
needs_tools = pytest.mark.skipif(not IN_CI and not all(shutil.which(tool) for tool in TOOLS),
                                 reason="poppler-utils and zbar-tools are not installed")


def _words(text: str) -> str:
    return " ".join(text.split())


@needs_tools
def test_the_pdf_holds_the_printed_fields_and_a_qr_code_of_the_verification_page(client, session, holder,
                                                                                 certificate_id, app, tmp_path):
    response = client.get(f"/api/v1/certificates/{certificate_id}/pdf", headers=holder)
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    (tmp_path / "c.pdf").write_bytes(response.content)
    text = _words(subprocess.run(["pdftotext", "-layout", str(tmp_path / "c.pdf"), "-"], capture_output=True,
                                 text=True, check=True).stdout)
    row = session.exec(select(Certificate)).one()
    assert HOLDER in text and row.code in text
    for title in row.title.values():
        assert title and _words(title) in text, title
    assert "Берілген күні" in text and "Дата выдачи" in text

    fonts = subprocess.run(["pdffonts", str(tmp_path / "c.pdf")], capture_output=True, text=True).stdout
    faces = fonts.strip().splitlines()[2:]
    assert faces and all("DejaVu" in face and face.split()[-5] == "yes" for face in faces), fonts  # all embedded

    subprocess.run(["pdftoppm", "-png", "-r", "150", "-singlefile", str(tmp_path / "c.pdf"), str(tmp_path / "page")],
                   check=True)
    read = subprocess.run(["zbarimg", "--quiet", "--raw", str(tmp_path / "page.png")], capture_output=True, text=True)
    url = read.stdout.strip()
    assert url == f"{app.state.settings.public_url}/verify/{certificate_id}"
    assert client.get(url.removeprefix(app.state.settings.public_url), follow_redirects=True).status_code == 200


def test_only_the_holder_and_the_staff_get_the_pdf(client, holder, certificate_id, admin):
    from tests.conftest import api_token
    stranger = api_token(client, "stranger")
    assert client.get(f"/api/v1/certificates/{certificate_id}/pdf", headers=stranger).status_code == 404
    assert client.get(f"/api/v1/certificates/{certificate_id}/pdf", headers=admin).status_code == 200
    client.cookies.clear()
    assert client.get(f"/api/v1/certificates/{certificate_id}/pdf").status_code == 401


@needs_tools
@pytest.mark.parametrize(("award", "place", "words"), [
    ("winner", 1, ("ЖЕҢІМПАЗ", "ПОБЕДИТЕЛЬ", "1-орын", "1 место")),
    ("prize_winner", 3, ("ЖҮЛДЕГЕР", "ПРИЗЁР", "3-орын", "3 место")),
    ("participant", None, ("ҚАТЫСУШЫ", "УЧАСТНИК")),
])
def test_a_tournament_diploma_prints_the_award_place_stage_and_tournament_in_both_languages(tmp_path, award, place,
                                                                                            words):
    from datetime import date

    from gennation.certificates import pdf, service
    diploma = Certificate(id=3, public_id="3f2b8c1e-4a5d-4e6f-8a9b-0c1d2e3f4a5b", code="GN-7KQ4-M2XP", source="t",
                          user_id=1, holder_name=HOLDER, kind="tournament", award=award, place=place, hours=0,
                          title={"kk": "«Генеративті Ұлт» ұлттық турнирі 2026",
                                 "ru": "Национальный турнир «Генеративная нация» 2026"},
                          stage={"kk": "Облыстық кезең", "ru": "Областной этап"}, issued_on=date(2026, 12, 2),
                          language="kk", issuer=dict(service.ISSUER))
    (tmp_path / "d.pdf").write_bytes(pdf.render(diploma, "https://gennation.kz"))
    text = _words(subprocess.run(["pdftotext", "-layout", str(tmp_path / "d.pdf"), "-"], capture_output=True,
                                 text=True, check=True).stdout)
    assert "ДИПЛОМ" in text and HOLDER in text and "СЕРТИФИКАТ" not in text
    for word in (*words, "Облыстық кезең", "Областной этап", "ұлттық турнирі 2026", "Национальный турнир"):
        assert word in text, word
    assert "академиялық сағат" not in text and "«««" not in text and "««" not in text
    if place is None:
        assert "орын" not in text and "место" not in text
