"""The line outputs a station can have, by type name. A new output is its module (an ``Output`` and a
factory) plus one line here; its settings go under ``outputs: {name: {...}}`` in the station file
unless it has a section of its own (mqtt, fleet)."""

from __future__ import annotations

from inspection.core.errors import ConfigError
from inspection.outputs.base import Output, OutputContext, OutputFactory
from inspection.outputs.fleet import fleet_output
from inspection.outputs.local_control import local_control
from inspection.outputs.mqtt import mqtt_output
from inspection.outputs.opcua import opcua_output

OUTPUT_TYPES: dict[str, OutputFactory] = {
    "mqtt": mqtt_output,
    "fleet": fleet_output,
    "opcua": opcua_output,
    "control": local_control,
}

# The types every process knows from this module alone: only these may run in the outputs' process (a
# plug-in's type, registered at run time, exists only in the process that registered it).
BUILT_IN_OUTPUTS = frozenset(OUTPUT_TYPES)


def register_output(name: str, factory: OutputFactory) -> None:
    """Add an output type (a plug-in, or a test) under ``name``."""
    if name in OUTPUT_TYPES:
        raise ValueError(f"an output type {name!r} is registered already")
    OUTPUT_TYPES[name] = factory


def build_outputs(context: OutputContext) -> list[Output]:
    """Every output the station's config asks for, in registration order; an unknown name under
    ``outputs:`` is a config error naming the known ones."""
    unknown = sorted(set(context.config.outputs) - set(OUTPUT_TYPES))
    if unknown:
        raise ConfigError(f"outputs: unknown output type {unknown}; known: {sorted(OUTPUT_TYPES)}")
    made = (factory(context) for factory in OUTPUT_TYPES.values())
    return [output for output in made if output is not None]
