from services.plans.bootstrap import SERVICE
from shared.service import run

run(SERVICE)
