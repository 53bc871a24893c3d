#include <cstdio>
int main() { std::puts("portier 0.1.0"); return 0; }
