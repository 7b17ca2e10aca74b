"""The `gtl-ray` commands: the parser (`parser`), what every command reads from its arguments
(`options`), and the commands by what they work on (`run_commands`: validate, evolve, config;
`gene_commands`: evaluate, descend; `read_commands`: inspect, export, report). Only
`gtl_ray.cli` imports them."""
