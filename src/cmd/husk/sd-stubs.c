/* libdbus-1.a calls two functions of libsystemd in its server side only
 * (dbus-sysdeps-unix.c: a bus daemon's sockets passed by systemd), which a
 * client never runs; Debian ships no static libsystemd, so husk, linked
 * statically, defines them. sd_listen_fds is husk's own already
 * (runtime/systemd.c, the same meaning); sd_is_socket: never a socket
 * systemd passed. (A dynamic link takes libsystemd.so's, through
 * libdbus-1.so.) */
int sd_is_socket(int fd, int family, int type, int listening);

int sd_is_socket(int fd, int family, int type, int listening)
{
	(void)fd;
	(void)family;
	(void)type;
	(void)listening;
	return 0;
}
