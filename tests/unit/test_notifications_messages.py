"""Webhook signing, Vietnamese templates and the MIME shape of mails (pure)."""
from __future__ import annotations

import email
from email import policy
from email.header import decode_header, make_header

import pytest

from services.notifications import domain, rendering, webhooks
from services.notifications.email import build_message
from shared.errors import Invalid


def test_signature_is_hmac_sha256_over_timestamp_dot_body():
    import hashlib
    import hmac

    body = webhooks.body_of({"id": "e1", "data": {"unit": "UBND phường Trà Vinh"}})
    expected = "sha256=" + hmac.new(b"bi-mat", b"1767225600." + body, hashlib.sha256).hexdigest()
    assert webhooks.sign("bi-mat", 1767225600, body) == expected
    assert "UBND phường Trà Vinh".encode("utf-8") in body


def test_receiver_rejects_tampering_other_secrets_and_replays():
    body = webhooks.body_of({"id": "e1"})
    h = webhooks.headers("s3cret", body, event_id="e1", delivery_id="d1", subscription_id="w1", timestamp=1_000_000)
    ts, sig = h[webhooks.TIMESTAMP_HEADER], h[webhooks.SIGNATURE_HEADER]
    assert webhooks.verify("s3cret", ts, body, sig, now=1_000_010)
    assert not webhooks.verify("s3cret", ts, body + b" ", sig, now=1_000_010)
    assert not webhooks.verify("other", ts, body, sig, now=1_000_010)
    assert not webhooks.verify("s3cret", ts, body, sig, now=1_000_000 + 3600)  # an old message replayed
    assert not webhooks.verify("s3cret", str(1_000_100), body, sig, now=1_000_100)  # new timestamp, old signature
    assert h[webhooks.EVENT_ID_HEADER] == "e1"


@pytest.mark.parametrize("event_type", domain.ROUTED_EVENTS)
@pytest.mark.parametrize("channel", rendering.TEMPLATE_CHANNELS)
def test_every_default_template_renders_in_vietnamese(event_type, channel):
    out = rendering.check(rendering.default_source(event_type, channel), channel, rendering.sample_context(event_type))
    assert out.subject and out.text
    assert any(ch in out.subject + out.text for ch in "ăâđêôơưạảấầẩậắằẳặẹẻẽếềểệịọỏốồổộớờởợụủứừửựỳỷỹ")
    if channel == "email":
        assert out.html.startswith("<!DOCTYPE html>")


def test_html_block_escapes_and_text_block_does_not():
    ctx = rendering.sample_context("violation.recorded")
    ctx["data"] = {**ctx["data"], "description": "Thu phí <ngoài quy định> & gây phiền hà"}
    out = rendering.render(rendering.default_source("violation.recorded", "email"), "email", ctx)
    assert "&lt;ngoài quy định&gt; &amp; gây phiền hà" in out.html
    assert "<ngoài quy định> & gây phiền hà" in out.text


@pytest.mark.parametrize("source", [
    "{% block subject %}{{ data.year }{% endblock %}",                       # syntax error
    "{% block subject %}Chào{% endblock %}{% block text %}x{% endblock %}",   # no html block
    "{% block subject %}{{ data.x.y.z }}{% endblock %}{% block text %}{% endblock %}{% block html %}{% endblock %}",
    "{% block subject %}{{ ''.__class__.__mro__ }}{% endblock %}{% block text %}{% endblock %}{% block html %}{% endblock %}",
    "{% block subject %}  {% endblock %}{% block text %}x{% endblock %}{% block html %}x{% endblock %}",
])
def test_templates_that_do_not_render_are_refused_with_the_field(source):
    with pytest.raises(Invalid) as err:
        rendering.check(source, "email", rendering.sample_context("plan.approved"))
    assert err.value.field == "body.source"


def test_mail_is_multipart_alternative_utf8_with_rfc2047_subject():
    # Long enough to be folded over several encoded words: no space may be lost at a fold.
    subject = "Đoàn kiểm tra bắt đầu làm việc tại UBND xã Long Hữu và các đơn vị trực thuộc tỉnh Vĩnh Long"
    msg = build_message(sender="Hệ thống kiểm tra <no-reply@kiemtra.gov.vn>", to="hung@longhuu.vn",
                        to_name="Nguyễn Văn Hùng", subject=subject, text="Đề nghị chỉ đạo khắc phục ngay.",
                        html="<p>Đề nghị chỉ đạo khắc phục ngay.</p>", message_id="<d1@notifications.test>")
    raw = msg.as_bytes()
    assert raw.isascii()  # every header and part is encoded for 7-bit transport
    assert b"=?utf-8?" in raw.lower()
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert str(make_header(decode_header(parsed["Subject"]))) == subject
    assert str(parsed["Subject"]) == subject
    assert parsed.get_content_type() == "multipart/alternative"
    assert parsed["Message-ID"] == "<d1@notifications.test>"
    plain, html = parsed.get_body(("plain",)), parsed.get_body(("html",))
    assert plain.get_content_charset() == "utf-8" and plain.get_content().strip() == "Đề nghị chỉ đạo khắc phục ngay."
    assert "<p>Đề nghị chỉ đạo khắc phục ngay.</p>" in html.get_content()
    assert "Nguyễn Văn Hùng" in str(parsed["To"]) and "Hệ thống kiểm tra" in str(parsed["From"])


def test_vn_date_formats_iso_dates():
    assert rendering.vn_date("2026-06-30") == "30/06/2026"
    assert rendering.vn_date("2026-07-03T00:05:00+07:00") == "03/07/2026"
    assert rendering.vn_date("không rõ") == "không rõ"
