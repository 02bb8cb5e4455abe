#!/usr/bin/env python3
"""Write a web ACL (AWS WAFv2 JSON) that runs the named built-in managed rule groups, each
with OverrideAction None, in the order given. Used by bench/waf.sh and
bench/waf/rampart-replay.sh.

    managed_acl.py OUT.json NAME GROUP [GROUP...]
"""
import json
import sys


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    out, name, groups = sys.argv[1], sys.argv[2], sys.argv[3:]

    def vis(n):
        return {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": n}

    acl = {"Name": name, "DefaultAction": {"Allow": {}}, "VisibilityConfig": vis(name),
           "Rules": [{"Name": g, "Priority": i, "OverrideAction": {"None": {}}, "VisibilityConfig": vis(g),
                      "Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": g}}}
                     for i, g in enumerate(groups)]}
    with open(out, "w") as f:
        json.dump(acl, f, indent=1)


if __name__ == "__main__":
    main()
