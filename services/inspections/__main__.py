from services.inspections.bootstrap import SERVICE
from shared.service import run

run(SERVICE)
