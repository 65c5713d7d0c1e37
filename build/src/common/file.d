build/src/common/file.o: src/common/file.c src/common/file.h \
 src/common/cleanup.h src/common/err.h src/common/xalloc.h
src/common/file.h:
src/common/cleanup.h:
src/common/err.h:
src/common/xalloc.h:
