
simple* 
INPUT0INT32
ÿÿÿÿÿÿÿÿ*