
simple*0
INPUT0INT32"
shared_memory_regionr