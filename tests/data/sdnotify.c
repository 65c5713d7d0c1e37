/* A minimal sd_notify(READY=1) for the NOTIFY_SOCKET tests: busybox has none. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
int main(void) {
	const char *p = getenv("NOTIFY_SOCKET");
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	if (!p) return 2;
	strncpy(a.sun_path, p, sizeof(a.sun_path) - 1);
	int s = socket(AF_UNIX, SOCK_DGRAM, 0);
	const char msg[] = "STATUS=hi\nREADY=1\n";
	return sendto(s, msg, sizeof(msg) - 1, 0, (struct sockaddr *)&a, sizeof(a)) < 0;
}
