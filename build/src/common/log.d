build/src/common/log.o: src/common/log.c src/common/log.h \
 src/common/err.h
src/common/log.h:
src/common/err.h:
