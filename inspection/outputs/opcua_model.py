"""The station's OPC UA address space, after OPC 40100-1 (Machine Vision) as far as it fits without its
nodeset: one ``VisionSystem`` object with the system state, recipe management (the current product, the
products the line may select, ``SelectProduct``), result management (the last result: id, verdict,
reasons, defect count, part serial, product, time, and a sequence number written last), the counters and
the fault state, and a software ``Trigger``. Every variable is read-only; the methods are the only way in.

    Objects/VisionSystem
        SystemState             Preoperational | Operational | Halted | Error (40100-1's state machine)
        SystemStateDetail       starting | running | stopping | stopped | changing product | fault: why
        RecipeManagement/       CurrentProduct, CurrentProductVersion, Products, SelectProduct(index)
        ResultManagement/LastResult/
                                ResultId, Verdict, Reasons, DefectCount, PartSerial, Product, Time, SequenceNumber
        Counters/               Parts, Passed, Failed
        Faults/                 FaultActive, FaultMessage
        Trigger(serial)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from asyncua import ua
from asyncua.common.methods import uamethod
from asyncua.common.node import Node
from asyncua.server.server import Server

from inspection.core.types import InspectionRecord

STATES = {  # the station's run state -> 40100-1's system state
    "starting": "Preoperational",
    "running": "Operational",
    "stopping": "Operational",
    "stopped": "Halted",
    "fault": "Error",
}

CommandCall = Callable[[dict[str, object]], Awaitable[str]]


@dataclass
class VisionNodes:
    """The variables the station writes."""

    server: Server
    values: dict[str, Node]
    types: dict[str, ua.VariantType]
    written: dict[str, Any] = field(default_factory=dict)

    async def write(self, name: str, value: Any) -> None:
        """The server's own write (no access check, no client request): the cheapest path to subscribers.
        A value equal to the one the variable holds is not written again (no change for a subscriber)."""
        if name in self.written and self.written[name] == value:
            return
        variant = ua.Variant(value, self.types[name])
        await self.server.write_attribute_value(self.values[name].nodeid, ua.DataValue(variant))
        self.written[name] = value


_LAST_RESULT = {
    "ResultId": ua.VariantType.String,
    "Verdict": ua.VariantType.String,
    "Reasons": ua.VariantType.String,  # an array of strings
    "DefectCount": ua.VariantType.UInt32,
    "PartSerial": ua.VariantType.String,
    "Product": ua.VariantType.String,
    "Time": ua.VariantType.DateTime,
    "SequenceNumber": ua.VariantType.UInt32,
}
_EMPTY: dict[ua.VariantType, Any] = {
    ua.VariantType.String: "",
    ua.VariantType.UInt32: 0,
    ua.VariantType.Boolean: False,
    ua.VariantType.DateTime: datetime(1970, 1, 1, tzinfo=UTC),
}


async def build_model(server: Server, namespace: str, products: dict[int, str], command: CommandCall) -> VisionNodes:
    """The address space in ``server``; ``command`` runs a line command ({"command": ...}) off the loop."""
    idx = await server.register_namespace(namespace)
    system = await server.nodes.objects.add_object(idx, "VisionSystem")
    values: dict[str, Node] = {}
    types: dict[str, ua.VariantType] = {}

    async def variable(parent: Node, name: str, kind: ua.VariantType, array: bool = False) -> None:
        initial: Any = [] if array else _EMPTY[kind]
        values[name] = await parent.add_variable(idx, name, ua.Variant(initial, kind))
        types[name] = kind

    await variable(system, "SystemState", ua.VariantType.String)
    await variable(system, "SystemStateDetail", ua.VariantType.String)
    recipes = await system.add_object(idx, "RecipeManagement")
    for name in ("CurrentProduct", "CurrentProductVersion"):
        await variable(recipes, name, ua.VariantType.String)
    await variable(recipes, "Products", ua.VariantType.String, array=True)
    results = await (await system.add_object(idx, "ResultManagement")).add_object(idx, "LastResult")
    for name, kind in _LAST_RESULT.items():
        await variable(results, name, kind, array=name == "Reasons")
    counters = await system.add_object(idx, "Counters")
    for name in ("Parts", "Passed", "Failed"):
        await variable(counters, name, ua.VariantType.UInt32)
    faults = await system.add_object(idx, "Faults")
    await variable(faults, "FaultActive", ua.VariantType.Boolean)
    await variable(faults, "FaultMessage", ua.VariantType.String)
    await _add_methods(idx, system, recipes, command)
    nodes = VisionNodes(server, values, types)
    await nodes.write("Products", [f"{index}: {name}" for index, name in sorted(products.items())])
    await nodes.write("SystemState", "Preoperational")
    return nodes


async def _add_methods(idx: int, system: Node, recipes: Node, command: CommandCall) -> None:
    @uamethod  # type: ignore[misc]
    async def select_product(_parent: ua.NodeId, index: int) -> str:
        return await command({"command": "recipe", "index": int(index)})

    @uamethod  # type: ignore[misc]
    async def trigger(_parent: ua.NodeId, serial: str) -> str:
        return await command({"command": "trigger", "serial": serial or None})

    await recipes.add_method(idx, "SelectProduct", select_product, [ua.VariantType.UInt16], [ua.VariantType.String])
    await system.add_method(idx, "Trigger", trigger, [ua.VariantType.String], [ua.VariantType.String])


async def write_result(nodes: VisionNodes, record: InspectionRecord, sequence: int) -> None:
    """The last result, its sequence number last: a client that sees it change reads a whole result."""
    await nodes.write("ResultId", record.id)
    await nodes.write("Verdict", record.verdict.value.upper())
    await nodes.write("Reasons", list(record.reasons))
    await nodes.write("DefectCount", len(record.kept))
    await nodes.write("PartSerial", record.part_serial or "")
    await nodes.write("Product", record.recipe_name)
    await nodes.write("Time", datetime.fromtimestamp(record.timestamp, UTC))
    await nodes.write("SequenceNumber", sequence)


async def write_counters(nodes: VisionNodes, parts: int, passed: int, failed: int) -> None:
    for name, value in (("Parts", parts), ("Passed", passed), ("Failed", failed)):
        await nodes.write(name, value)


def run_blocking(function: Callable[[dict[str, object]], str]) -> CommandCall:
    """A line command as a coroutine: a changeover takes seconds and must not stop the server's loop."""

    async def call(command: dict[str, object]) -> str:
        return await asyncio.get_running_loop().run_in_executor(None, function, command)

    return call
