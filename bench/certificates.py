"""Certificates: drawing PDFs, verifying, signing badges.

Draws the certificate PDF next to a bare reportlab page with the same font and a QR code (in the same
run, so the ratio does not depend on the machine), times the public verification API through the app,
and signs Open Badges with the platform key.

Last line: RESULT pdf_per_s=... raw_reportlab_per_s=... ratio=... verify_p99_ms=... badge_sign_per_s=...
(goal: ratio >= 0.5, verify p99 under 20 ms)
Usage: python bench/certificates.py [--url sqlite:///... | postgresql://...] [--pdfs 60] [--verifies 1000]
"""
from __future__ import annotations

import argparse
import io
import logging
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path


def raw_page(font: str, url: str) -> bytes:
    """The baseline: one A4 landscape page, one line in the same embedded font, one QR code."""
    import qrcode
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen.canvas import Canvas

    image = io.BytesIO()
    qrcode.make(url).save(image, format="PNG")
    image.seek(0)
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=landscape(A4), invariant=1, initialFontName=font)
    canvas.setFont(font, 30)
    canvas.drawCentredString(421, 300, "Әлия Нұрғалиқызы Сәрсенбаева")
    canvas.drawImage(ImageReader(image), 680, 50, 96, 96)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def per_second(work, count: int) -> float:
    work()  # warm: fonts parsed, caches filled
    started = time.perf_counter()
    for _ in range(count):
        work()
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="")
    parser.add_argument("--pdfs", type=int, default=60)
    parser.add_argument("--verifies", type=int, default=1000)
    args = parser.parse_args()
    logging.disable(logging.WARNING)

    from fastapi.testclient import TestClient
    from sqlmodel import select

    from gennation.certificates import pdf, service
    from gennation.certificates.models import Certificate
    from gennation.platform.accounts.models import Category, User
    from gennation.platform.app import create_app
    from gennation.platform.db_migrations import upgrade
    from gennation.platform.settings import Settings

    var = Path(tempfile.mkdtemp(prefix="bench-certificates-"))
    url = args.url or f"sqlite:///{var / 'bench.db'}"
    settings = Settings(database_url=url, secret_key="bench-" + "x" * 40, var_dir=var, page_cache_seconds=0,
                        tutor_model_path=var / "no-model.gguf", public_url="https://gennation.kz").resolved()
    upgrade(settings.database_url)
    app = create_app(settings)
    with app.state.db.unit_of_work() as session:
        if session.exec(select(Certificate)).first() is None:
            holder = User(username="bench-holder", password_hash="-", display_name="Әлия Нұрғалиқызы Сәрсенбаева",
                          region="shymkent", category=Category.adult)
            session.add(holder)
            session.flush()
            service.issue(session, Certificate(
                source="bench:1", user_id=holder.id, holder_name=holder.display_name, course_slug="ai-civil-service",
                title={"kk": "Мемлекеттік қызметшілерге арналған жасанды интеллект",
                       "ru": "Искусственный интеллект для государственных служащих"},
                hours=8, issued_on=date(2026, 12, 2), language="kk", issuer=dict(service.ISSUER), public_id="", code=""))
    with app.state.db.unit_of_work() as session:
        certificate = session.exec(select(Certificate)).first()

    fonts = pdf.register_fonts()
    address = pdf.verification_url(settings.public_url, certificate)
    ours = per_second(lambda: pdf.render(certificate, settings.public_url), args.pdfs)
    raw = per_second(lambda: raw_page(fonts["serif-bold"], address), args.pdfs)

    timings = []
    with TestClient(app) as client:
        path = f"/api/v1/certificates/{certificate.public_id}/verify"
        assert client.get(path).json()["status"] == "valid"
        for _ in range(args.verifies):
            started = time.perf_counter()
            client.get(path)
            timings.append((time.perf_counter() - started) * 1000)
    p99 = statistics.quantiles(timings, n=100)[98]

    try:  # the Open Badges part (certificates/badge.py)
        from gennation.certificates import badge, signing
        signer = signing.signer(var)
        signs = per_second(lambda: badge.signed_badge(certificate, settings.public_url, signer), max(5, args.pdfs // 3))
        badge_text = f"{signs:.1f}"
    except (ImportError, AttributeError, TypeError) as error:
        badge_text = "n/a"
        print(f"badge signing not measured: {error}")
    app.state.engine.dispose()
    print(f"RESULT pdf_per_s={ours:.1f} raw_reportlab_per_s={raw:.1f} ratio={ours / raw:.2f} "
          f"verify_p99_ms={p99:.1f} badge_sign_per_s={badge_text}")


if __name__ == "__main__":
    main()
