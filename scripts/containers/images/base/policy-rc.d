#!/bin/sh
# Installing a server package must not start it: there is no init in an image, and during a
# build it would try the host's ports. 101 = "action not allowed" (invoke-rc.d(8)).
exit 101
