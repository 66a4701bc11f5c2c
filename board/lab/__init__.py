"""The network-namespace lab (carplab), its client for carpd and ucarp
(carpctl), and the scripts that run them (demo, dhcp_failover, measure_*)."""
