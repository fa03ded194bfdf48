"""`outreach cluster up|status|down`: the scale-out topology on one machine, on loopback.

    topology.py  pure functions: the ports, the processes (argv and environment), supervisord's and nginx's
                 configuration files, the JSON line of `up`
    control.py   what touches the machine: packages, PostgreSQL, supervisord (started as a daemon and driven
                 over its XML-RPC socket), health checks, `up`, `status`, `down`
    webhook.py   `python -m outreach.cluster.webhook`: registers the webhook once (a process of its own, the only
                 one here that imports Telegram's library, so the CLI keeps away from it)

Everything lives in var/cluster/ (configuration, supervisord's socket and pid, logs, PostgreSQL's data when
the cluster starts its own); `outreach cluster down` stops every process `up` started.
"""
