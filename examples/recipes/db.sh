#!/bin/sh
# Runs on each db VM as root, in ~/.slipstream, once every VM of the run runs.
set -eu
echo "db $SLIPSTREAM_INDEX of run $SLIPSTREAM_RUN_ID ($SHOP_ENV)"
apt-get install -y postgresql
