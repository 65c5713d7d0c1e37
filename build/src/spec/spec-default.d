build/src/spec/spec-default.o: src/spec/spec-default.c \
 src/common/xalloc.h src/spec/spec.h
src/common/xalloc.h:
src/spec/spec.h:
