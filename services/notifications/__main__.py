from services.notifications.bootstrap import SERVICE
from shared.service import run

run(SERVICE)
