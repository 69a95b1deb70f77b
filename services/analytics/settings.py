"""Settings of the analytics service, read from ANALYTICS_* environment variables."""
from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings, service_config


class AnalyticsSettings(ServiceSettings):
    model_config = service_config("ANALYTICS_")

    rebuild_batch_size: int = Field(5000, ge=1, le=100_000, description="Events a rebuild applies per database transaction "
                                    "(more than the live consumer: larger sets of findings per statement, and nobody waits on one event)")
    summary_cache_entries: int = Field(4096, ge=0, le=1_000_000, description="Provinces' central-view figures an API process "
                                       "keeps while their read models are unchanged (per province and question; 0: compute every time)")
    report_issuing_body: str = Field("SỞ NỘI VỤ", description="Body that issues the annual report (under the province's People's Committee)")
    report_signer_title: str = Field("GIÁM ĐỐC", description="Title of the annual report's signer")
