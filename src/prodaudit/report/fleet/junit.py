"""The fleet's ``junit.xml``: one ``<testsuite>`` per service and suite
(``prodaudit.<service>.<suite>``), each rendered like one audit's (``report/junit.py``); a check
of a missing job is an ``<error>`` ("not verified: the fleet job ... wrote no audit.json")."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from prodaudit.fleet.model import FleetRun
from prodaudit.report.fleet.interface import FleetRenderer
from prodaudit.report.junit import clean, to_junit

_COUNTS = ("tests", "failures", "errors", "skipped")


def to_fleet_junit(fleet: FleetRun) -> ET.Element:
    root = ET.Element("testsuites", {"name": "prodaudit fleet"})
    totals = dict.fromkeys(_COUNTS, 0)
    time = 0.0
    index = 0
    for service in fleet.services:
        one = to_junit(service.run)
        time += float(one.get("time", "0"))
        for suite in one.findall("testsuite"):
            name = suite.get("name", "").removeprefix("prodaudit.")
            suite.set("name", clean(f"prodaudit.{service.name}.{name}"))
            suite.set("id", str(index))
            index += 1
            props = suite.find("properties")
            if props is None:
                props = ET.SubElement(suite, "properties")
            ET.SubElement(props, "property", {"name": "service", "value": clean(service.name)})
            for case in suite.findall("testcase"):
                case.set("classname", clean(f"prodaudit.{service.name}.{name}"))
            for key in _COUNTS:
                totals[key] += int(suite.get(key, "0"))
            root.append(suite)
    for key in _COUNTS:
        root.set(key, str(totals[key]))
    root.set("time", f"{time:.3f}")
    return root


class FleetJunitRenderer(FleetRenderer):
    name = "junit"
    filename = "junit.xml"
    description = "JUnit XML, one testsuite per service and suite (`prodaudit.<service>.<suite>`)"

    def format(self, fleet: FleetRun) -> str:
        root = to_fleet_junit(fleet)
        ET.indent(root)
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
