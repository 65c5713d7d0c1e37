build/src/spec/json.o: src/spec/json.c src/spec/json.h src/common/err.h \
 src/common/xalloc.h
src/spec/json.h:
src/common/err.h:
src/common/xalloc.h:
