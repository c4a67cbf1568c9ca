#!/bin/sh
### BEGIN INIT INFO
# Provides:          @NAME@
# Required-Start:    $network
# Required-Stop:     $network
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: @DESCRIPTION@ (gpuctl lab stand-in)
### END INIT INFO
NAME=@NAME@
DAEMON=/usr/lib/gpuctl-lab/daemon.py
PIDFILE=/run/$NAME.pid
case "$1" in
  start)
    start-stop-daemon --start --quiet --background --make-pidfile --pidfile "$PIDFILE" --exec /usr/bin/python3 \
      -- "$DAEMON" @PROGRAM@ @PORT@ || true
    ;;
  stop)
    start-stop-daemon --stop --quiet --oknodo --retry 5 --pidfile "$PIDFILE" && rm -f "$PIDFILE"
    ;;
  restart|force-reload)
    "$0" stop; "$0" start
    ;;
  status)
    if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then echo "$NAME is running"; exit 0; fi
    echo "$NAME is not running"; exit 3
    ;;
  *) echo "Usage: $0 {start|stop|restart|status}"; exit 1 ;;
esac
exit 0
