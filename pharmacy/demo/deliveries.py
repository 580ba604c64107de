"""Demo data: two delivery routes per demo township, villages in driving order."""

from datetime import time

from ..deliveries.schedule import default_every_n_runs
from ..deliveries.services import StopSpec, save_route

# (name, ISO weekdays, departure): the first half of a township's villages on the east loop, the rest on the west.
DEMO_ROUTES = [("东线", "2,5", time(8, 0)), ("西线", "1,4", time(8, 30))]


def seed_demo_routes(demo) -> None:
    """SEED_STEPS hook: each township gets an east and a west route; small villages every other run."""
    for t_index, township in enumerate(demo.townships, start=1):
        villages = sorted(demo.villages[township.id], key=lambda v: v.code)
        half = (len(villages) + 1) // 2
        for r_index, ((name, weekdays, departure), group) in enumerate(
                zip(DEMO_ROUTES, (villages[:half], villages[half:]), strict=True), start=1):
            if not group:
                continue
            stops, small = [], 0
            for position, village in enumerate(group, start=1):
                every = default_every_n_runs(village.population)
                # Alternate the phase of small villages so each run carries about the same number of stops.
                phase = small % every
                small += every > 1
                stops.append(StopSpec(village.id, position, every, phase))
            save_route(township, name=f"{township.name[:-3]}{name}", weekdays=weekdays, departure_time=departure,
                       stops=stops, vehicle=f"冀E{t_index:02d}{r_index}68", driver="")
