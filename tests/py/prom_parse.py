#!/usr/bin/env python3
"""Parses a /metrics scrape on stdin with the Prometheus project's own parsers
(prometheus_client on PyPI) and prints every sample as one JSON line:
{"name": ..., "labels": {...}, "value": ...}.

--openmetrics uses the OpenMetrics parser (which also insists on the "# EOF" line and the
format's other rules); without it, the classic text format (0.0.4) parser.
"""

import argparse
import json
import sys

from prometheus_client.openmetrics import parser as openmetrics_parser
from prometheus_client import parser as text_parser


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--openmetrics", action="store_true")
    a = p.parse_args()
    text = sys.stdin.read()
    parse = (openmetrics_parser if a.openmetrics else text_parser).text_string_to_metric_families
    try:
        for family in parse(text):
            for s in family.samples:
                print(json.dumps({"family": family.name, "type": family.type,
                                  "name": s.name, "labels": s.labels, "value": s.value}))
    except Exception as e:  # noqa: BLE001 - any parse failure is exit 2 for the caller
        print(f"prom_parse.py: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
