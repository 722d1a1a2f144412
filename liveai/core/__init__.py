"""The pure core: no sockets, devices or sleeps; time is passed in."""
