"""The real Celery worker with beat (Redis broker) runs the overdue detection on its schedule, and
publishes remediation.overdue once however many times it runs."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from services.inspections.bootstrap import SERVICE
from tests.integration.test_inspections_http import World, count, outbox, uid
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]


def test_beat_publishes_overdue_once_per_deadline(service_harness, tenant, tmp_path):
    svc = service_harness(SERVICE)
    world = World(svc, tenant)
    iid = world.scheduled()
    r = svc.client.post(f"/v1/inspections/{iid}/conclusion", headers=world.leader, json={
        "id": uid(), "summary": "Kết luận kiểm tra tại UBND xã Long Hồ",
        "document": {"kind": "report", "number": "7/BC-SNV", "date": "2026-03-20", "place": "Vĩnh Long",
                     "signer_title": "GIÁM ĐỐC", "signer_name": "Nguyễn Thị Hồng"},
        "recommendations": [{"id": uid(), "kind": "correction", "text": "Chấn chỉnh việc niêm yết thủ tục hành chính",
                             "deadline": "2026-04-10"}]})
    assert r.status_code == 201, r.text

    s = svc.settings
    env = {**os.environ, "PYTHONPATH": str(ROOT), "INSPECTIONS_DATABASE_URL": s.database_url,
           "INSPECTIONS_REDIS_URL": s.redis_url, "INSPECTIONS_TOPIC_PREFIX": s.topic_prefix,
           "INSPECTIONS_KAFKA_BOOTSTRAP": s.kafka_bootstrap, "INSPECTIONS_OVERDUE_INTERVAL_SECONDS": "0.5"}
    log = tmp_path / "celery.log"
    with open(log, "wb") as out:
        # The worker's clock is the real one: 10 April 2026 lies in the past for it.
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "services.inspections.worker", "worker", "--beat", "--pool=solo",
             "--loglevel=INFO", f"--schedule={tmp_path / 'beat-schedule'}"],
            env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: log.read_text(errors="replace").count("succeeded") >= 4, timeout=60,
                       message="beat to run the task several times")
        finally:
            proc.terminate()
            proc.wait(20)
    events = outbox(svc, "remediation.overdue")
    assert len(events) == 1, log.read_text(errors="replace")[-3000:]
    assert events[0]["deadline"] == "2026-04-10" and events[0]["days_overdue"] >= 1
    assert count(svc, "SELECT count(*) AS n FROM remediation_overdue") == 1
