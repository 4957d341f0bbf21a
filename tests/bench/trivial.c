/* trivial.c - the baseline of `mcapkit-bench startup`: a C program that does nothing,
 * built with the same compiler and flags as mcapkit. */
int main(void) {
  return 0;
}
