"""Helpers of the journey tests (a uniquely named module: other test folders have conftests of their own)."""

from __future__ import annotations

from pathlib import Path

from foundation_helpers import SHARED_DATA, require_data

MAPPINGS = Path(__file__).parent / "mappings"
# tenant -> (data file, mapping file); the docs (docs/journeys.md) show the same mappings
LOGS = {
    "helpdesk": ("process-mining-helpdesk/helpdesk_events.csv.gz", "helpdesk.yaml"),
    "bpic2013": ("bpic2013-volvo-incidents/VINST_incidents_ibm.csv.gz", "bpic2013.yaml"),
    "servicenow": ("servicenow-incident-log/incident_event_log.csv.gz", "servicenow.yaml"),
}


def log_path(tenant: str) -> Path:
    """The data file of a real log (skips, or fails under CALLOPS_REQUIRE_DATA=1, when absent)."""
    return require_data(SHARED_DATA / LOGS[tenant][0])


# A small hand-checked log (tests/journey/test_analysis.py counts every expected number from it).
T1_LOG = """session_id,seq,customer_id,ts,channel,step,outcome,error_code,contact_id
S1,0,C1,2026-03-02T09:00:00+08:00,app,app_login,ok,,K1
S1,1,C1,2026-03-02T09:01:00+08:00,app,verify_identity,failed,identity_verification_failed,K1
S2,0,C1,2026-03-02T11:00:00+08:00,voice,ivr_menu,ok,,K2
S2,1,C1,2026-03-02T11:02:00+08:00,voice,agent,ok,,K2
S3,0,C2,2026-03-03T10:00:00+08:00,app,app_login,ok,,K3
S3,1,C2,2026-03-03T10:00:30+08:00,app,verify_identity,ok,,K3
S3,2,C2,2026-03-03T10:02:30+08:00,app,self_service,ok,,K3
S4,0,C3,2026-03-04T10:00:00+08:00,app,app_login,ok,,K4
S4,1,C3,2026-03-04T10:01:00+08:00,app,verify_identity,failed,identity_verification_failed,K4
S4,2,C3,2026-03-05T12:00:00+08:00,app,verify_identity,failed,identity_verification_failed,K4
"""
T10_LOG = """session_id,seq,customer_id,ts,channel,step,outcome,error_code,contact_id
X9,0,Z9,2026-03-02T09:00:00+08:00,web,web_login,ok,,Q9
"""
CONTACTS = """contact_id,channel,direction,customer_id,business_type,offered_at,outcome,csat,talk_s
K1,app,inbound,C1,billing,2026-03-02T09:00:00+08:00,abandoned,,
K2,voice,inbound,C1,billing,2026-03-02T11:00:00+08:00,answered,2,600
K3,app,inbound,C2,data_plan,2026-03-03T10:00:00+08:00,self_served,,
K4,app,inbound,C3,billing,2026-03-04T10:00:00+08:00,abandoned,,
"""
