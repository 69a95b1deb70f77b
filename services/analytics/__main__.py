from services.analytics.bootstrap import SERVICE
from shared.service import run

run(SERVICE)
