"""The pure core: routing, sessions, output, the transport clock, stats. No sockets,
devices, sleeps, behaviours, models or torch; time is passed in (a fake in tests)."""
